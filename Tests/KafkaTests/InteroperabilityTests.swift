import Foundation
import Kafka
import Testing

@Suite("Interoperability with kcat", .serialized, .timeLimit(.minutes(2)))
struct InteroperabilityTests {
    @Test("messages written by kcat are read by our consumer with keys and headers")
    func kcatToOurs() async throws {
        let cluster = try TestCluster(topics: ["interop": 3])
        let lines = (0..<100).map { "key-\($0 % 7)\t{\"n\":\($0)}" }.joined(separator: "\n") + "\n"
        try run("kcat", ["-P", "-b", cluster.bootstrap, "-t", "interop", "-K", "\t", "-H", "ce_type=iomt.test.v1", "-H", "ce_id=abc", "-q"], input: Data(lines.utf8))
        let consumer = try cluster.consumer(topics: ["interop"])
        let messages = try await collectMessages(from: consumer, count: 100)
        await consumer.close()
        #expect(messages.count == 100)
        let values = Set(messages.map { String(decoding: $0.value, as: UTF8.self) })
        #expect(values == Set((0..<100).map { "{\"n\":\($0)}" }))
        for message in messages {
            #expect(message.headers.string(for: "ce_type") == "iomt.test.v1")
            #expect(message.headers.string(for: "ce_id") == "abc")
            let n = Int(String(decoding: message.value, as: UTF8.self).dropFirst(5).dropLast())!
            #expect(message.key == Array("key-\(n % 7)".utf8))
        }
    }

    @Test("messages written by our producer are read by kcat with keys and headers")
    func oursToKcat() async throws {
        let cluster = try TestCluster(topics: ["interop": 3])
        let producer = try cluster.producer()
        let records = (0..<100).map {
            KafkaProducerRecord(topic: "interop", key: "key-\($0 % 7)", value: Array("value-\($0)".utf8), headers: [KafkaHeader(name: "ce_source", string: "urn:test")])
        }
        _ = try await producer.send(records).map { try $0.get() }
        await producer.shutdown()
        let output = try run("kcat", ["-C", "-b", cluster.bootstrap, "-t", "interop", "-o", "beginning", "-e", "-q", "-f", "%k|%s|%h\n"])
        let rows = output.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count == 100)
        for row in rows {
            let n = Int(row[1].dropFirst("value-".count))!
            #expect(row[0] == "key-\(n % 7)")
            #expect(row[2] == "ce_source=urn:test")
        }
    }
}
