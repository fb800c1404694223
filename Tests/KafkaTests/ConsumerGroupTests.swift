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
        // librdkafka's view changes once the poll thread applies the answer.
        var matches = false
        for _ in 0..<100 where !matches {
            let firstHolds = await first.assignment()
            let secondHolds = await second.assignment()
            matches = firstHolds == firstTracker.partitions && secondHolds == secondTracker.partitions
            if !matches { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(matches, "librdkafka's assignment matches the events")

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

@Suite("Offsets across rebalances", .timeLimit(.minutes(4)))
struct RebalanceOffsetTests {
    /// Follows the members of one group, starting each assigned partition at the
    /// next offset none of them has seen, and records every offset that arrived after a gap or a second time.
    final class OffsetTracker: Sendable {
        struct State {
            var next: [KafkaTopicPartition: Int64] = [:]
            var owned: [Int: Set<KafkaTopicPartition>] = [:]
            var gaps: [String] = []
            var repeats: [String] = []
            var lost = 0
        }
        let state = Mutex(State())

        /// Runs `consumer`'s event loop (as member `member`) until it closes, taking
        /// `work` over each batch so that fetched messages queue up behind it.
        func follow(_ consumer: KafkaConsumer, member: Int = 0, work: Duration = .milliseconds(10)) -> Task<Void, Never> {
            Task {
                for await event in consumer.events {
                    switch event {
                    case .assigned(let assignment):
                        let next = state.withLock { state in
                            state.owned[member, default: []].formUnion(assignment.partitions)
                            return state.next
                        }
                        assignment.start(at: Dictionary(uniqueKeysWithValues: assignment.partitions.map { ($0, next[$0] ?? KafkaOffset.beginning) }))
                    case .revoked(let revocation):
                        state.withLock { state in
                            if revocation.lost { state.lost += 1 }
                            state.owned[member, default: []].subtract(revocation.partitions)
                        }
                        revocation.acknowledge()
                    case .messages(let batch):
                        try? await Task.sleep(for: work)
                        state.withLock { state in
                            for message in batch {
                                let partition = KafkaTopicPartition(topic: message.topic, partition: message.partition)
                                let expected = state.next[partition] ?? 0
                                if message.offset > expected {
                                    state.gaps.append("partition \(message.partition): \(expected)..<\(message.offset)")
                                } else if message.offset < expected {
                                    state.repeats.append("partition \(message.partition): \(message.offset) after \(expected - 1)")
                                }
                                state.next[partition] = max(expected, message.offset + 1)
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("a member that loses its assignment while messages stream skips no offset")
    func noGapsAcrossLostAssignments() async throws {
        let cluster = try TestCluster(brokers: 1, topics: ["stream": 6])
        let consumer = try cluster.consumer(topics: ["stream"]) { configuration in
            configuration.properties["heartbeat.interval.ms"] = "100"
            configuration.maxBatchSize = 500
        }
        let tracker = OffsetTracker()
        let loop = tracker.follow(consumer)
        let producer = try cluster.producer()
        let streaming = stream(to: "stream", partitions: 6, with: producer)
        // Three times, while messages stream, the member's generation ends under
        // it: its partitions are lost mid-fetch and assigned to it again.
        for time in 1...3 {
            #expect(try await eventually { !tracker.state.withLock { $0.next.isEmpty } })
            try await Task.sleep(for: .milliseconds(700))
            try cluster.cluster.pushRequestErrors(.heartbeat, [.illegalGeneration])
            #expect(try await eventually { tracker.state.withLock { $0.lost } >= time }, "assignment lost (\(time))")
        }
        try await expectEveryOffsetOnce(tracker, streaming: streaming, producer: producer)
        await consumer.close()
        await loop.value
    }

    @Test("members joining and leaving while messages stream: the partitions a member keeps skip no offset")
    func noGapsAcrossRebalances() async throws {
        let cluster = try TestCluster(brokers: 1, topics: ["stream": 6])
        let group = "rebalancing-\(UUID().uuidString)"
        let tracker = OffsetTracker()
        let first = try cluster.consumer(group: group, topics: ["stream"]) { $0.maxBatchSize = 500 }
        let firstLoop = tracker.follow(first, member: 1)
        let producer = try cluster.producer()
        let streaming = stream(to: "stream", partitions: 6, with: producer)
        // Each join and each leave is an incremental rebalance in which the first
        // member keeps some partitions: librdkafka pauses and resumes them around
        // the rebalance callback while their messages are being fetched.
        // On a loaded machine the mock can take longer than a round allows to hand
        // the second member its share; that round still rebalances the first one.
        var splits = 0
        for _ in 1...3 {
            #expect(try await eventually(timeout: .seconds(60)) { tracker.state.withLock { $0.owned[1]?.count } == 6 }, "the first member holds every partition again")
            try await Task.sleep(for: .milliseconds(500))
            let second = try cluster.consumer(group: group, topics: ["stream"]) { $0.maxBatchSize = 500 }
            let secondLoop = tracker.follow(second, member: 2)
            if try await eventually(timeout: .seconds(20), { tracker.state.withLock { $0.owned[2]?.isEmpty == false } }) { splits += 1 }
            try await Task.sleep(for: .milliseconds(500))
            await second.close()
            await secondLoop.value
            tracker.state.withLock { $0.owned[2] = [] }
        }
        #expect(splits >= 1, "the second member got partitions in at least one round")
        try await expectEveryOffsetOnce(tracker, streaming: streaming, producer: producer)
        await first.close()
        await firstLoop.value
    }

    /// Produces 300 messages across `partitions` partitions every 20 ms until
    /// cancelled; returns each partition's log end.
    private func stream(to topic: String, partitions: Int, with producer: KafkaProducer) -> Task<[Int32: Int64], any Error> {
        Task {
            var ends: [Int32: Int64] = [:]
            var round = 0
            while !Task.isCancelled {
                let records = (0..<300).map { KafkaProducerRecord(topic: topic, partition: Int32($0 % partitions), key: nil, value: Array(repeating: UInt8(round % 256), count: 100)) }
                for result in await producer.send(records) {
                    let report = try result.get()
                    ends[report.partition] = max(ends[report.partition] ?? 0, report.offset + 1)
                }
                round += 1
                try? await Task.sleep(for: .milliseconds(20))
            }
            return ends
        }
    }

    /// Stops `streaming`, waits until the members read every partition to its log
    /// end, and expects each offset to have come exactly once.
    private func expectEveryOffsetOnce(_ tracker: OffsetTracker, streaming: Task<[Int32: Int64], any Error>, producer: KafkaProducer) async throws {
        try await Task.sleep(for: .milliseconds(500))
        streaming.cancel()
        let ends = try await streaming.value
        await producer.shutdown()
        let caughtUp = try await eventually(timeout: .seconds(60)) {
            let next = tracker.state.withLock { $0.next }
            return ends.allSatisfy { next[KafkaTopicPartition(topic: "stream", partition: $0.key)] ?? 0 >= $0.value }
        }
        let state = tracker.state.withLock { $0 }
        #expect(caughtUp, "read to the log end: \(state.next) of \(ends)")
        #expect(state.gaps.isEmpty, "offsets skipped: \(state.gaps)")
        // Each assignment starts where the group left off, and messages fetched
        // before a rebalance are never delivered stale: no offset comes twice.
        #expect(state.repeats.isEmpty, "offsets delivered again: \(state.repeats.prefix(20))")
    }
}
