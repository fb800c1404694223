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

extension VersionedRowTable {
    /// Migration statements that make any update leaving the row's `version` as
    /// it was set it to 0, a version no write stores (``VersionedRowCache/newVersion()``)
    /// and so no cache entry holds. The workers write a new version with every
    /// row; any other writer that changes a row without one (a worker from before
    /// the table had versions, during a rolling upgrade; a manual fix) would
    /// otherwise leave the version a worker cached, and that worker would fold
    /// onto its stale copy and overwrite the change. Now the next batch parses
    /// the row again. The trigger's condition is checked without calling the
    /// function, so the workers' own writes pay almost nothing for it.
    ///
    /// Creates `<schema>.reset_row_version()` (shared by the schema's versioned
    /// tables) and the trigger `<table>_version_reset`.
    public var versionGuardStatements: [String] {
        let parts = name.split(separator: ".", maxSplits: 1)
        precondition(parts.count == 2, "a qualified table name: schema.table")
        let (schema, table) = (parts[0], parts[1])
        return [
            """
            CREATE OR REPLACE FUNCTION \(schema).reset_row_version() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                NEW.version := 0;
                RETURN NEW;
            END
            $$
            """,
            """
            CREATE TRIGGER \(table)_version_reset BEFORE UPDATE ON \(name)
                FOR EACH ROW WHEN (NEW.version = OLD.version) EXECUTE FUNCTION \(schema).reset_row_version()
            """,
        ]
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
