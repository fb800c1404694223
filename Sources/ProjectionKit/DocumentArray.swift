import Events
import NIOCore
import PostgresNIO

/// JSON documents bound as one `text[]` parameter, each written straight into
/// the binary array PostgreSQL receives (for `unnest`, see ``ArrayColumns``).
///
/// Bound as `[String]`, each document was copied twice after it was written:
/// into a string (its bytes checked as UTF-8 on the way), then into the array's
/// encoding; and each got a writer of its own. Here one writer is reused for
/// every document and its bytes are copied once. The writer's output is UTF-8: it writes Swift strings'
/// UTF-8 and escapes control characters.
public struct DocumentArray: PostgresEncodable, Sendable {
    /// `text[]`.
    public static var psqlType: PostgresDataType { .textArray }
    /// Binary.
    public static var psqlFormat: PostgresFormat { .binary }

    /// Each element as PostgreSQL's binary array holds it: its length, then its bytes.
    private var elements: ByteBuffer
    private var writer = JSONWriter(capacity: 2048)
    /// Number of documents.
    public private(set) var count = 0

    /// No documents, with room for `bytes` bytes of them.
    public init(reservingBytes bytes: Int = 0) {
        elements = ByteBuffer()
        elements.reserveCapacity(bytes)
    }

    /// Appends the document `write` writes.
    public mutating func append(_ write: (inout JSONWriter) -> Void) {
        writer.removeAll()
        write(&writer)
        elements.writeInteger(Int32(writer.bytes.count))
        elements.writeBytes(writer.bytes)
        count += 1
    }

    /// Writes the array as PostgreSQL's binary `text[]` (as PostgresNIO writes
    /// an array of strings).
    public func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        buffer.writeInteger(count == 0 ? 0 : 1, as: UInt32.self)  // dimensions
        buffer.writeInteger(0, as: Int32.self)  // no NULL elements
        buffer.writeInteger(PostgresDataType.text.rawValue)
        guard count > 0 else { return }
        buffer.writeInteger(Int32(count))
        buffer.writeInteger(1, as: Int32.self)  // lower bound
        buffer.writeImmutableBuffer(elements)
    }
}
