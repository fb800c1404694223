import Foundation
import Kafka
import Testing

@Suite("Idempotent producer under injected faults", .serialized, .timeLimit(.minutes(3)))
struct FaultToleranceTests {
    let keys = 20
    let perKey = 250

    /// Produces `perKey` messages for each key in `rounds` batches, calling
    /// `between` after each batch is enqueued (faults are injected there).
    func produce(_ producer: KafkaProducer, topic: String, rounds: Int, between: (Int) async throws -> Void) async throws {
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
                group.addTask { await producer.send(batch) }
                try await between(round)
            }
            for try await results in group {
                for result in results { _ = try result.get() }
            }
        }
    }

    @Test("request errors on Produce: every message once, in order per key")
    func requestErrors() async throws {
        let cluster = try TestCluster(topics: ["t": 4])
        let producer = try cluster.producer()
        try await produce(producer, topic: "t", rounds: 5) { _ in
            try cluster.cluster.pushRequestErrors(.produce, [
                .notLeaderForPartition, .requestTimedOut, .notEnoughReplicas, .notEnoughReplicasAfterAppend, .leaderNotAvailable, .disconnect,
            ])
            try await Task.sleep(for: .milliseconds(50))
        }
        await producer.shutdown()
        try await expectLog(cluster)
    }

    @Test("partition leadership moving between brokers: every message once, in order per key")
    func leaderChange() async throws {
        let cluster = try TestCluster(topics: ["t": 4])
        let producer = try cluster.producer()
        try await produce(producer, topic: "t", rounds: 5) { round in
            for partition in 0..<4 {
                try cluster.cluster.setPartitionLeader(topic: "t", partition: Int32(partition), brokerID: Int32((round + partition) % 3 + 1))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await producer.shutdown()
        try await expectLog(cluster)
    }

    @Test("a broker down then up: every message once, in order per key")
    func brokerDownThenUp() async throws {
        let cluster = try TestCluster(topics: ["t": 4])
        let producer = try cluster.producer()
        try await produce(producer, topic: "t", rounds: 5) { round in
            if round == 1 { try cluster.cluster.setBrokerDown(1) }
            if round == 3 {
                try await Task.sleep(for: .seconds(1))
                try cluster.cluster.setBrokerUp(1)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await producer.shutdown()
        try await expectLog(cluster)
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
}
