import Events
import NIOCore
import PostgresNIO

/// A projection table whose rows a ``VersionedRowCache`` vouches for: a text
/// key column, a `version bigint` column holding the row version of the last
/// write, and a `state text` column holding the row's JSON document.
public struct VersionedRowTable: Sendable {
    /// The qualified table name, e.g. `asset_inventory.devices`: SQL written
    /// by the projection, never input.
    public let name: String
    /// The key column, e.g. `device_id`: SQL written by the projection.
    public let keyColumn: String

    /// The table `name`, keyed by `keyColumn` (both SQL identifiers the
    /// projection writes; never built from input).
    public init(_ name: String, keyColumn: String) {
        self.name = name
        self.keyColumn = keyColumn
    }
}

extension VersionedRowCache {
    /// Loads the rows of `keys` that exist in `table`, in the batch's
    /// transaction: each row's version first, then, for the rows whose version
    /// this cache does not hold (another worker wrote them, or they are not
    /// cached), their state documents, parsed with `parse`. `found` gets each
    /// row's key and value; a document `parse` rejects (nil) is left out, as a
    /// row that does not exist.
    ///
    /// The documents come back as bytes, not strings: parsed in place, with no
    /// UTF-8 check or copy into a `String` first.
    public func load(
        _ keys: [String], from table: VersionedRowTable, context: ProjectionContext,
        parse: (String, JSONValue) throws -> Value?, found: (String, Value) -> Void
    ) async throws {
        guard !keys.isEmpty else { return }
        var stale: [String] = []
        let versions = try await context.query(
            "SELECT \(unescaped: table.keyColumn), version FROM \(unescaped: table.name) WHERE \(unescaped: table.keyColumn) = ANY(\(keys))"
        )
        for try await (key, version) in versions.decode((String, Int64).self) {
            if let cached = value(key, version: version) { found(key, cached) } else { stale.append(key) }
        }
        guard !stale.isEmpty else { return }
        let document = JSONDocument()
        let rows = try await context.query(
            "SELECT \(unescaped: table.keyColumn), state::text FROM \(unescaped: table.name) WHERE \(unescaped: table.keyColumn) = ANY(\(stale))"
        )
        for try await (key, state) in rows.decode((String, ByteBuffer).self) {
            let parsed = try state.withUnsafeReadableBytes { bytes in try document.parse(bytes) { root in try parse(key, root) } }
            if let parsed { found(key, parsed) }
        }
    }
}
