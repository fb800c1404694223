import Foundation
import Kafka
import Synchronization
import Testing

@Suite("Producer and consumer against the mock cluster", .serialized, .timeLimit(.minutes(2)))
struct ProducerConsumerTests {
    @Test("10,000 keyed messages with headers round-trip across partitions, in order per key")
    func roundTrip() async throws {
        let cluster = try TestCluster(topics: ["events": 6])
        let producer = try cluster.producer()
        let keys = 50
        let perKey = 200
        var records: [KafkaProducerRecord] = []
        for sequence in 0..<perKey {
            for key in 0..<keys {
                records.append(KafkaProducerRecord(
                    topic: "events",
                    key: "device-\(key)",
                    value: payload(key: "device-\(key)", sequence: sequence),
                    headers: [KafkaHeader(name: "ce_type", string: "test.v1"), KafkaHeader(name: "seq", string: "\(sequence)"), KafkaHeader(name: "empty", value: [])]
                ))
            }
        }
        let results = await producer.send(records)
        let reports = try results.map { try $0.get() }
        #expect(reports.count == 10_000)
        #expect(Set(reports.map(\.partition)).count == 6, "keys spread over every partition")
        await producer.shutdown()

        let consumer = try cluster.consumer(topics: ["events"])
        let messages = try await collectMessages(from: consumer, count: 10_000)
        await consumer.close()
        #expect(messages.count == 10_000)
        expectExactlyOnceInOrder(messages, keys: keys, perKey: perKey)
        let sample = try #require(messages.first)
        #expect(sample.headers.string(for: "ce_type") == "test.v1")
        #expect(sample.headers.string(for: "seq") == String(sequence(of: sample)))
        #expect(sample.headers.first { $0.name == "empty" }?.value == [])
        // Every key stays on one partition.
        let partitionsPerKey = Dictionary(grouping: messages, by: { $0.key! }).mapValues { Set($0.map(\.partition)).count }
        #expect(partitionsPerKey.values.allSatisfy { $0 == 1 })
    }

    @Test("a record batch round-trips keys, values and headers from its one buffer, across two topics, in order per key")
    func recordBatch() async throws {
        let cluster = try TestCluster(topics: ["batch-a": 4, "batch-b": 1])
        let producer = try cluster.producer()
        var batch = KafkaRecordBatch(records: 1_000, bytesPerRecord: 64)
        for index in 0..<1_000 {
            let value = Array("value-\(index)".utf8)
            let topic = index % 10 == 9 ? "batch-b" : "batch-a"
            value.withUnsafeBytes { bytes in
                if index % 100 == 0 {
                    batch.append(topic: topic, key: nil as [UInt8]?, value: bytes)
                } else {
                    batch.append(topic: topic, key: "key-\(index % 7)".utf8, value: bytes)
                }
            }
            Array("\(index)".utf8).withUnsafeBytes { batch.appendHeader(name: "seq", value: $0) }
            batch.appendHeader(name: "empty", value: UnsafeRawBufferPointer(start: nil, count: 0))
            batch.appendHeader(name: "absent", value: nil)
        }
        let reports = try await producer.send(batch).map { try $0.get() }
        #expect(reports.count == 1_000)
        #expect(reports.filter { $0.topic == "batch-b" }.count == 100)
        await producer.shutdown()

        let consumer = try cluster.consumer(topics: ["batch-a", "batch-b"])
        let messages = try await collectMessages(from: consumer, count: 1_000)
        await consumer.close()
        #expect(messages.count == 1_000)
        for message in messages {
            let index = try #require(Int(String(decoding: message.value.dropFirst("value-".count), as: UTF8.self)))
            #expect(message.topic == (index % 10 == 9 ? "batch-b" : "batch-a"))
            #expect(message.key == (index % 100 == 0 ? nil : Array("key-\(index % 7)".utf8)))
            #expect(message.headers.map(\.name) == ["seq", "empty", "absent"])
            #expect(message.headers.string(for: "seq") == String(index))
            #expect(message.headers[1].value == [])
            #expect(message.headers[2].value == nil)
        }
        // Order per key within a partition follows the batch.
        let byKey = Dictionary(grouping: messages.filter { $0.key != nil && $0.topic == "batch-a" }, by: { $0.key! })
        for (_, group) in byKey {
            let indices = group.sorted { $0.offset < $1.offset }.map { Int(String(decoding: $0.value.dropFirst(6), as: UTF8.self))! }
            #expect(indices == indices.sorted())
        }
    }

    @Test("send reports the partition and offset the broker assigned")
    func deliveryReport() async throws {
        let cluster = try TestCluster(topics: ["one": 1])
        let producer = try cluster.producer()
        let first = try await producer.send(KafkaProducerRecord(topic: "one", key: "k", value: [1]))
        let second = try await producer.send(KafkaProducerRecord(topic: "one", key: "k", value: [2]))
        #expect(first == KafkaDeliveryReport(topic: "one", partition: 0, offset: 0))
        #expect(second == KafkaDeliveryReport(topic: "one", partition: 0, offset: 1))
        await producer.shutdown()
    }

    @Test("a consumer starts each partition at the offsets the caller stored")
    func startsAtCallerOffsets() async throws {
        let cluster = try TestCluster(topics: ["log": 2])
        let producer = try cluster.producer()
        let records = (0..<200).map { KafkaProducerRecord(topic: "log", partition: Int32($0 % 2), key: nil, value: Array("\($0)".utf8)) }
        _ = try await producer.send(records).map { try $0.get() }
        await producer.shutdown()

        let stored: [Int32: Int64] = [0: 42, 1: 97]
        let consumer = try cluster.consumer(topics: ["log"])
        let messages = try await collectMessages(from: consumer, count: (100 - 42) + (100 - 97)) { stored[$0.partition] }
        #expect(messages.filter { $0.partition == 0 }.first?.offset == 42)
        #expect(messages.filter { $0.partition == 1 }.first?.offset == 97)
        #expect(messages.count == 61)

        // seek moves the fetch position of an assigned partition back.
        try consumer.seek([KafkaTopicPartition(topic: "log", partition: 0): 10])
        let again = try await collectMessages(from: consumer, count: 90)
        #expect(again.first?.offset == 10)
        #expect(again.map(\.offset) == Array(10..<100))
        await consumer.close()
    }

    @Test("commit stores the offset a new member of the group starts from")
    func commitIsVisibleToTheGroup() async throws {
        let cluster = try TestCluster(topics: ["log": 1])
        let producer = try cluster.producer()
        _ = try await producer.send((0..<20).map { KafkaProducerRecord(topic: "log", key: nil, value: [UInt8($0)]) }).map { try $0.get() }
        await producer.shutdown()
        let group = "commit-\(UUID().uuidString)"
        let first = try cluster.consumer(group: group, topics: ["log"])
        _ = try await collectMessages(from: first, count: 20)
        try first.commit([KafkaTopicPartition(topic: "log", partition: 0): 15])
        try await Task.sleep(for: .milliseconds(500))
        await first.close()
        let second = try cluster.consumer(group: group, topics: ["log"])
        let rest = try await collectMessages(from: second, count: 5)
        #expect(rest.map(\.offset) == [15, 16, 17, 18, 19])
        await second.close()
    }

    @Test("watermarks report the log end")
    func watermarks() async throws {
        let cluster = try TestCluster(topics: ["log": 1])
        let producer = try cluster.producer()
        _ = try await producer.send((0..<7).map { KafkaProducerRecord(topic: "log", key: nil, value: [UInt8($0)]) }).map { try $0.get() }
        await producer.shutdown()
        let consumer = try cluster.consumer(topics: ["log"])
        let marks = try await consumer.watermarks(for: KafkaTopicPartition(topic: "log", partition: 0))
        #expect(marks == KafkaWatermarks(low: 0, high: 7))
        await consumer.close()
    }

    @Test("paused partitions deliver nothing until resumed")
    func pauseAndResume() async throws {
        let cluster = try TestCluster(topics: ["log": 1])
        let consumer = try cluster.consumer(topics: ["log"])
        let partition = KafkaTopicPartition(topic: "log", partition: 0)
        // Wait for the assignment before pausing.
        let assigned = Task { () -> Bool in
            for await event in consumer.events {
                if case .assigned(let assignment) = event {
                    assignment.start(at: [:])
                    return true
                }
            }
            return false
        }
        #expect(await assigned.value)
        try await Task.sleep(for: .milliseconds(300))
        try consumer.pause([partition])
        let producer = try cluster.producer()
        _ = try await producer.send([0, 1].map { KafkaProducerRecord(topic: "log", key: nil, value: [$0]) }).map { try $0.get() }
        let whilePaused = try? await collectMessages(from: consumer, count: 1, timeout: .seconds(2))
        #expect(whilePaused == nil, "no message while paused")
        try consumer.resume([partition])
        let resumed = try await collectMessages(from: consumer, count: 2)
        #expect(resumed.map(\.offset) == [0, 1])
        await producer.shutdown()
        await consumer.close()
    }
}
