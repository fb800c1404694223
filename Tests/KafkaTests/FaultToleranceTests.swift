import Foundation
import Kafka
import Testing

@Suite("Idempotent producer under injected faults", .serialized, .timeLimit(.minutes(3)))
struct FaultToleranceTests {
    let keys = 20
    let perKey = 250
    /// Batches per test, each its own `send`.
    let rounds = 5

    /// Produces `perKey` messages for each key in ``rounds`` batches, each its
    /// own `send` whose deliveries overlap the next rounds and the faults,
    /// calling `between` after each batch is enqueued (faults are injected
    /// there). Each round starts as an immediate task: `send` enqueues all its
    /// records before its first suspension, so a round is wholly enqueued
    /// before the next one starts. (Started as ordinary child tasks, two rounds
    /// could run at once on a loaded machine and interleave their records: in
    /// one CI run every key read 0–169, 200–249, 170–199.)
    func produce(_ producer: KafkaProducer, topic: String, between: (Int) async throws -> Void) async throws {
        let perRound = perKey / rounds
        try await withThrowingTaskGroup(of: [Result<KafkaDeliveryReport, KafkaError>].self) { group in
            for round in 0..<rounds {
                var records: [KafkaProducerRecord] = []
                for sequence in (round * perRound)..<((round + 1) * perRound) {
                    for key in 0..<keys {
                        records.append(KafkaProducerRecord(topic: topic, key: "k\(key)", value: payload(key: "k\(key)", sequence: sequence)))
                    }
                }
                let batch = records
                group.addImmediateTask { await producer.send(batch) }
                try await between(round)
            }
            for try await results in group {
                for result in results { _ = try result.get() }
            }
        }
    }

    /// Retriable errors the mock answers without writing the request, so a retry
    /// that the producer sends twice, or out of order, shows in the log.
    static let brokerErrors: [KafkaMockCluster.InjectedError] = [
        .notLeaderForPartition, .requestTimedOut, .notEnoughReplicas, .notEnoughReplicasAfterAppend, .leaderNotAvailable,
    ]

    /// Produces every message on a new cluster, pushing `errors` onto its Produce
    /// requests after each round.
    func produce(underProduceErrors errors: [KafkaMockCluster.InjectedError]) async throws -> TestCluster {
        let cluster = try TestCluster(topics: ["t": 4])
        let producer = try cluster.producer()
        try await produce(producer, topic: "t") { _ in
            try cluster.cluster.pushRequestErrors(.produce, errors)
            try await Task.sleep(for: .milliseconds(50))
        }
        await producer.shutdown()
        return cluster
    }

    @Test("broker errors on Produce: every message once, in order per key")
    func requestErrors() async throws {
        try await expectLog(try await produce(underProduceErrors: Self.brokerErrors))
    }

    @Test("dropped connections during Produce: nothing lost, first deliveries in order per key")
    func droppedConnections() async throws {
        try await expectLogAtLeastOnce(try await produce(underProduceErrors: Self.brokerErrors + [.disconnect]))
    }

    @Test("partition leadership moving between brokers: every message once, in order per key")
    func leaderChange() async throws {
        let cluster = try TestCluster(topics: ["t": 4])
        let producer = try cluster.producer()
        try await produce(producer, topic: "t") { round in
            for partition in 0..<4 {
                try cluster.cluster.setPartitionLeader(topic: "t", partition: Int32(partition), brokerID: Int32((round + partition) % 3 + 1))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await producer.shutdown()
        try await expectLog(cluster)
    }

    @Test("a broker down then up: nothing lost, first deliveries in order per key")
    func brokerDownThenUp() async throws {
        let cluster = try TestCluster(topics: ["t": 4])
        let producer = try cluster.producer()
        try await produce(producer, topic: "t") { round in
            if round == 1 { try cluster.cluster.setBrokerDown(1) }
            if round == 3 {
                try await Task.sleep(for: .seconds(1))
                try cluster.cluster.setBrokerUp(1)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await producer.shutdown()
        try await expectLogAtLeastOnce(cluster)
    }

    @Test("a record that cannot be delivered before its deadline is reported timed out, not accepted")
    func deadline() async throws {
        let cluster = try TestCluster(brokers: 1, topics: ["t": 1])
        let producer = try cluster.producer()
        _ = try await producer.send(KafkaProducerRecord(topic: "t", key: "k", value: [0]))
        try cluster.cluster.setBrokerDown(1)
        let results = await producer.send([KafkaProducerRecord(topic: "t", key: "k", value: [1])], timeout: .milliseconds(500))
        guard case .failure(let error) = results[0] else {
            Issue.record("a record was accepted while the only broker was down")
            return
        }
        #expect(error.kind == .timedOut)
        #expect(error.isRetriable)
        try cluster.cluster.setBrokerUp(1)
        await producer.shutdown()
    }

    @Test("sending after shutdown fails with closed")
    func closed() async throws {
        let cluster = try TestCluster(brokers: 1, topics: ["t": 1])
        let producer = try cluster.producer()
        await producer.shutdown()
        let results = await producer.send([KafkaProducerRecord(topic: "t", key: "k", value: [0])])
        #expect(throws: KafkaError.self) { try results[0].get() }
        #expect((try? results[0].get()) == nil)
    }

    private func expectLog(_ cluster: TestCluster) async throws {
        let consumer = try cluster.consumer(topics: ["t"])
        let messages = try await collectMessages(from: consumer, count: keys * perKey)
        // Anything beyond the expected count would be a duplicate: wait briefly for it.
        let extra = try? await collectMessages(from: consumer, count: 1, timeout: .seconds(1))
        await consumer.close()
        #expect(extra == nil, "no duplicate after the expected messages")
        #expect(messages.count == keys * perKey)
        expectExactlyOnceInOrder(messages, keys: keys, perKey: perKey)
    }

    /// For faults that close connections. A closed connection loses the answers
    /// to requests the broker had already written; the producer resends them
    /// with the same sequence numbers. Apache Kafka drops such a resend, but
    /// librdkafka's mock checks sequence numbers only for transactional
    /// producers (`rd_kafka_mock_validate_records`), so it writes the batch
    /// again. What the mock can show: every message arrives, and each key's
    /// first deliveries are in order, with resent batches only repeating
    /// messages already written.
    private func expectLogAtLeastOnce(_ cluster: TestCluster) async throws {
        let consumer = try cluster.consumer(topics: ["t"])
        var messages = try await collectMessages(from: consumer, count: keys * perKey)
        // Resent duplicates took the place of messages still to come: read on
        // until every message (each payload is unique) has arrived.
        while Set(messages.map(\.value)).count < keys * perKey {
            messages += try await collectMessages(from: consumer, count: 1)
        }
        await consumer.close()
        let byKey = sequencesByKey(messages)
        #expect(byKey.count == keys)
        for (key, sequences) in byKey {
            var seen = Set<Int>()
            let firsts = sequences.filter { seen.insert($0).inserted }
            #expect(firsts == Array(0..<perKey), "key \(key) lost or reordered a message")
        }
    }
}
