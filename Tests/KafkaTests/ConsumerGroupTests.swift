import Foundation
import Kafka
import Synchronization
import Testing

/// Follows one group member's assignment as it changes.
final class MemberTracker: Sendable {
    let assigned = Mutex<Set<KafkaTopicPartition>>([])
    let messages = Mutex<Int>(0)

    /// Runs the member's event loop until the consumer closes.
    func follow(_ consumer: KafkaConsumer) -> Task<Void, Never> {
        Task {
            for await event in consumer.events {
                switch event {
                case .assigned(let assignment):
                    assigned.withLock { $0.formUnion(assignment.partitions) }
                    assignment.start(at: [:])
                case .revoked(let revocation):
                    assigned.withLock { $0.subtract(revocation.partitions) }
                    revocation.acknowledge()
                case .messages(let batch):
                    messages.withLock { $0 += batch.count }
                }
            }
        }
    }

    var partitions: Set<KafkaTopicPartition> { assigned.withLock { $0 } }
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(100))
    }
    return condition()
}

@Suite("Consumer groups", .serialized, .timeLimit(.minutes(2)))
struct ConsumerGroupTests {
    @Test("two members split the partitions; when one leaves, the other takes all of them")
    func splitAndTakeOver() async throws {
        let cluster = try TestCluster(topics: ["work": 6])
        let group = "split-\(UUID().uuidString)"
        let all = Set((0..<6).map { KafkaTopicPartition(topic: "work", partition: Int32($0)) })
        let first = try cluster.consumer(group: group, topics: ["work"])
        let second = try cluster.consumer(group: group, topics: ["work"])
        let firstTracker = MemberTracker()
        let secondTracker = MemberTracker()
        let firstLoop = firstTracker.follow(first)
        let secondLoop = secondTracker.follow(second)

        let split = try await eventually {
            let a = firstTracker.partitions
            let b = secondTracker.partitions
            return !a.isEmpty && !b.isEmpty && a.isDisjoint(with: b) && a.union(b) == all
        }
        #expect(split, "both members own a disjoint share of all 6 partitions")

        await second.close()
        await secondLoop.value
        let tookOver = try await eventually { firstTracker.partitions == all }
        #expect(tookOver, "the remaining member owns every partition")

        // And it consumes from all of them.
        let producer = try cluster.producer()
        _ = try await producer.send((0..<60).map { KafkaProducerRecord(topic: "work", partition: Int32($0 % 6), key: nil, value: [UInt8($0)]) }).map { try $0.get() }
        await producer.shutdown()
        #expect(try await eventually { firstTracker.messages.withLock { $0 } == 60 })
        await first.close()
        await firstLoop.value
    }
}
