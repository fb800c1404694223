import Events
import PostgresNIO
import ProjectionKit
import ServiceSupport
import Testing
import WorkerTestSupport

@Suite("Document arrays bound to PostgreSQL")
struct DocumentArrayTests {
    /// Texts a document may carry: escapes, non-ASCII text, nothing.
    static let texts = ["plain", "quote \" backslash \\ newline \n tab \t bell \u{07}", "Zürich – 東京 🫀", ""]

    @Test("each document reaches PostgreSQL as written, in order, and parses back to its text")
    func documentsArriveAsWritten() async throws {
        var documents = DocumentArray()
        var written: [String] = []
        for (index, text) in Self.texts.enumerated() {
            func write(_ writer: inout JSONWriter) {
                writer.beginObject()
                writer.member("text", text)
                writer.member("index", index)
                writer.endObject()
            }
            documents.append(write)
            var writer = JSONWriter()
            write(&writer)
            written.append(String(decoding: writer.bytes, as: UTF8.self))
        }
        #expect(documents.count == Self.texts.count)
        let database = try await TestDatabase.create()
        let rows = try await database.withClient { [documents] client in
            var rows: [(Int64, String, String, Int64)] = []
            for try await row in try await client.query("""
                SELECT n, d, (d::json)->>'text', ((d::json)->>'index')::int8 FROM unnest(\(documents)::text[]) WITH ORDINALITY AS u(d, n) ORDER BY n
                """).decode((Int64, String, String, Int64).self) {
                rows.append(row)
            }
            return rows
        }
        await database.drop()
        #expect(rows.map(\.0) == Array(1...Int64(Self.texts.count)))
        #expect(rows.map(\.1) == written)
        #expect(rows.map(\.2) == Self.texts)
        #expect(rows.map(\.3) == Array(0..<Int64(Self.texts.count)))
    }

    @Test("no documents bind as an empty array")
    func noDocuments() async throws {
        let database = try await TestDatabase.create()
        let cardinality = try await database.withClient { client in
            var result: Int64?
            for try await value in try await client.query("SELECT cardinality(\(DocumentArray())::text[])::int8").decode(Int64.self) { result = value }
            return result
        }
        await database.drop()
        #expect(cardinality == 0)
    }
}
