import Events
import PostgresNIO

/// Rows for one bulk statement, sent as a single JSON parameter and expanded in
/// SQL with `json_to_recordset`:
///
/// ```sql
/// INSERT INTO s.t (id, value)
/// SELECT id, value FROM json_to_recordset($1::json) AS r(id text, value float8)
/// ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value
/// ```
///
/// One statement writes every key of a batch. JSON (rather than `UNNEST` of
/// typed arrays) carries NULLs and nested values, which PostgresNIO's array
/// binding cannot; PostgreSQL expands it in one pass.
public struct BulkRows: Sendable {
    private var writer = JSONWriter(capacity: 4096)
    /// Number of rows added.
    public private(set) var count = 0

    /// An empty set of rows.
    public init() {
        writer.beginArray()
    }

    /// Adds a row; `body` writes its columns with the writer's `member` calls.
    public mutating func row(_ body: (inout JSONWriter) -> Void) {
        writer.beginObject()
        body(&writer)
        writer.endObject()
        count += 1
    }

    /// True when no row was added.
    public var isEmpty: Bool { count == 0 }

    /// The JSON text to bind as the statement's parameter (`$1::json`).
    public var json: String {
        var copy = writer
        copy.endArray()
        return String(decoding: copy.bytes, as: UTF8.self)
    }
}

extension JSONWriter {
    /// Writes `key: RFC 3339 time` when `time` is not nil.
    public mutating func member(_ name: String, _ time: EventTime?) {
        guard let time else { return }
        key(name)
        string(time.rfc3339)
    }
}
