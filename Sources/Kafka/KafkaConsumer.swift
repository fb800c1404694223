import CRdKafka
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A consumer-group member that delivers batches and rebalance events as an async
/// sequence (``events``).
///
/// Offsets are the caller's: nothing is committed automatically. A caller that keeps
/// its own checkpoints answers each ``KafkaAssignment`` with them, processes
/// ``KafkaConsumerEvent/messages(_:)`` batches, commits with ``commit(_:)`` when it
/// wants standard lag tools to see progress, and acknowledges each
/// ``KafkaRevocation`` after finishing its current batch.
///
/// A dedicated thread owns the consumer queue (polling also serves rebalance
/// callbacks and keeps `max.poll.interval.ms` satisfied) and gathers messages into
/// batches; it sleeps in librdkafka while idle and blocks, not spins, when the
/// caller is slower than the broker. A second thread wakes librdkafka's fetchers
/// while a full prefetch queue drains (``FetchWaker``).
///
/// Lifecycle: create (it subscribes at once), iterate ``events`` from one task, and
/// call ``close()`` once to leave the group. After `close` the sequence ends.
public final class KafkaConsumer: Service, Sendable {
    private let handle: RdKafkaHandle
    private let core: ConsumerCore
    private let access = HandleAccess()
    private let closed = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    /// Creates a consumer, subscribes it to the configured topics and starts its
    /// poll thread.
    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws(KafkaError) {
        let core = ConsumerCore(configuration: configuration, logger: logger)
        self.core = core
        self.handle = try RdKafkaHandle(
            type: RD_KAFKA_CONSUMER,
            properties: configuration.librdkafkaProperties,
            callbacks: core
        ) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { rk, error, partitions, opaque in
                guard let rk, let partitions, let opaque else { return }
                let core = Unmanaged<RdKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue() as! ConsumerCore
                core.rebalance(rk, error: error, partitions: partitions)
            }
            rd_kafka_conf_set_offset_commit_cb(conf) { _, error, _, opaque in
                guard error != RD_KAFKA_RESP_ERR_NO_ERROR, error != RD_KAFKA_RESP_ERR__NO_OFFSET, let opaque else { return }
                let core = Unmanaged<RdKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
                core.logger.warning("offset commit failed", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(error)))"])
            }
        }
        rd_kafka_poll_set_consumer(handle.pointer)
        let list = TopicPartitionList(capacity: configuration.topics.count)
        for topic in configuration.topics {
            list.add(KafkaTopicPartition(topic: topic, partition: RD_KAFKA_PARTITION_UA))
        }
        // A consumer without topics serves metadata and watermark queries only.
        let error = configuration.topics.isEmpty ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_subscribe(handle.pointer, list.pointer)
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_consumer_close(handle.pointer)
            handle.destroy()
            throw KafkaError(kind: .consumer, rdError: error)
        }
        let thread = Thread { [self] in self.pollLoop() }
        thread.name = "kafka-consumer-poll"
        thread.start()
        if let waker = core.waker {
            let thread = Thread { [self] in waker.run(until: { self.core.isClosing }, wake: self.requestLogEnds) }
            thread.name = "kafka-fetch-waker"
            thread.start()
        }
    }

    /// Asks the leaders of the assigned partitions for their log ends, for the
    /// side effect of waking their broker threads (see ``FetchWaker``). Waits at
    /// most 200 ms for the answers.
    private func requestLogEnds() {
        guard let waker = core.waker, !core.isClosing else { return }
        let partitions = waker.assignment
        guard !partitions.isEmpty else { return }
        let list = TopicPartitionList(partitions.map { ($0, KafkaOffset.end) })
        let error = access.useIfOpen { rd_kafka_offsets_for_times(handle.pointer, list.pointer, 200) }
        if let error, error != RD_KAFKA_RESP_ERR_NO_ERROR {
            core.logger.debug("log end request to wake fetchers failed", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(error)))"])
        }
    }

    /// The events of this consumer. Iterate from one task at a time; the sequence
    /// ends after ``close()``.
    public var events: Events { Events(handoff: core.handoff) }

    /// Commits the given next-offsets to the group coordinator, asynchronously.
    /// Failures are logged; the caller's own checkpoints stay authoritative.
    public func commit(_ offsets: [KafkaTopicPartition: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = TopicPartitionList(offsets.map { ($0.key, $0.value) })
        try access.use { () throws(KafkaError) in
            let error = rd_kafka_commit(handle.pointer, list.pointer, 1)
            if error != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(kind: .consumer, rdError: error) }
        }
    }

    /// Moves the next fetch position of assigned partitions. Messages already
    /// delivered or buffered in ``events`` are not withdrawn: the caller skips what
    /// it does not want.
    public func seek(_ offsets: [KafkaTopicPartition: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        let list = TopicPartitionList(offsets.map { ($0.key, $0.value) })
        try access.use { () throws(KafkaError) in
            if let error = rd_kafka_seek_partitions(handle.pointer, list.pointer, 0) {
                throw KafkaError(kind: .consumer, consuming: error)
            }
        }
    }

    /// The partitions assigned to this member now, as librdkafka holds them (empty
    /// once closed). A message of a partition outside it was fetched before a
    /// revocation took effect and belongs to another member. The call waits for
    /// librdkafka's main thread, so it runs on a Dispatch thread.
    public func assignment() async -> Set<KafkaTopicPartition> {
        guard access.enter() else { return [] }
        defer { access.leave() }
        let handle = handle
        return await BlockingCalls.run { () -> Set<KafkaTopicPartition> in
            var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            guard rd_kafka_assignment(handle.pointer, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return Set(TopicPartitionList.partitions(in: list))
        }
    }

    /// Stops fetching from the given partitions until ``resume(_:)``.
    public func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try setPaused(true, partitions)
    }

    /// Resumes fetching from paused partitions.
    public func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try setPaused(false, partitions)
    }

    /// Queries the partition leader for the low and high watermarks.
    public func watermarks(for partition: KafkaTopicPartition, timeout: Duration = .seconds(5)) async throws(KafkaError) -> KafkaWatermarks {
        guard access.enter() else { throw .closed }
        defer { access.leave() }
        return try await Metadata.watermarks(handle, partition, timeout: timeout)
    }

    /// The partitions of `topic`, from cluster metadata.
    public func partitions(of topic: String, timeout: Duration = .seconds(5)) async throws(KafkaError) -> [KafkaTopicPartition] {
        guard access.enter() else { throw .closed }
        defer { access.leave() }
        let count = try await Metadata.partitionCount(handle, topic: topic, timeout: timeout)
        return (0..<count).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
    }

    /// The watermarks last seen in fetch responses (no network call), if any.
    public func cachedWatermarks(for partition: KafkaTopicPartition) -> KafkaWatermarks? {
        access.useIfOpen { () -> KafkaWatermarks? in
            var low: Int64 = 0
            var high: Int64 = 0
            let error = rd_kafka_get_watermark_offsets(handle.pointer, partition.topic, partition.partition, &low, &high)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
            return KafkaWatermarks(low: low, high: high)
        } ?? nil
    }

    /// Asks a broker for cluster metadata: succeeds when the cluster is reachable.
    public func checkConnectivity(timeout: Duration) async throws(KafkaError) {
        guard access.enter() else { throw .closed }
        defer { access.leave() }
        try await Metadata.check(handle, timeout: timeout)
    }

    /// Runs until graceful shutdown, then leaves the group.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Leaves the group and destroys the handle. The event sequence ends at once;
    /// messages not yet delivered are dropped (they were never committed). Safe to
    /// call more than once.
    ///
    /// A member closed after its JoinGroup answer but before its first assignment
    /// keeps its librdkafka handle (without group membership) until the process
    /// exits: librdkafka 2.0.2 aborts the process when it destroys such a handle.
    public func close() async {
        core.requestClose()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = closed.withLock { state -> Bool in
                if state.done { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func setPaused(_ paused: Bool, _ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        guard !partitions.isEmpty else { return }
        let list = TopicPartitionList(partitions.map { ($0, KafkaOffset.committed) })
        try access.use { () throws(KafkaError) in
            let error = paused
                ? rd_kafka_pause_partitions(handle.pointer, list.pointer)
                : rd_kafka_resume_partitions(handle.pointer, list.pointer)
            if error != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(kind: .consumer, rdError: error) }
        }
    }

    private func pollLoop() {
        core.pollUntilClosed(handle.pointer)
        rd_kafka_consumer_close(handle.pointer)
        access.closeAndWaitIdle()
        if core.mayDestroyHandle(handle.pointer) {
            handle.destroy()
        } else {
            // Destroying it would abort the process (see `mayDestroyHandle`); it has
            // left the group, and its threads end with the process.
            core.logger.debug("consumer closed before its first assignment; its librdkafka handle is kept until exit")
        }
        let waiters = closed.withLock { state in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// The ordered events of a ``KafkaConsumer``.
    public struct Events: AsyncSequence, Sendable {
        /// Each element is one event.
        public typealias Element = KafkaConsumerEvent
        let handoff: EventHandoff<KafkaConsumerEvent>

        /// Creates the iterator. One iterator at a time.
        public func makeAsyncIterator() -> Iterator { Iterator(handoff: handoff) }

        /// Iterates consumer events.
        public struct Iterator: AsyncIteratorProtocol {
            let handoff: EventHandoff<KafkaConsumerEvent>

            /// The next event, or `nil` after ``KafkaConsumer/close()``.
            public mutating func next() async -> KafkaConsumerEvent? {
                await handoff.next()
            }
        }
    }
}

/// Guards calls on a handle against its destruction: calls run only while the
/// handle is open, and the destroying thread waits for calls in progress.
final class HandleAccess: Sendable {
    private let state = Mutex<(open: Bool, active: Int)>((true, 0))

    func enter() -> Bool {
        state.withLock { state in
            guard state.open else { return false }
            state.active += 1
            return true
        }
    }

    func leave() {
        state.withLock { $0.active -= 1 }
    }

    func use<T>(_ body: () throws(KafkaError) -> T) throws(KafkaError) -> T {
        guard enter() else { throw .closed }
        defer { leave() }
        return try body()
    }

    func useIfOpen<T>(_ body: () -> T) -> T? {
        guard enter() else { return nil }
        defer { leave() }
        return body()
    }

    /// Marks the handle closed and blocks until no call is in progress. Call from a
    /// thread of ours.
    func closeAndWaitIdle() {
        state.withLock { $0.open = false }
        while state.withLock({ $0.active }) > 0 {
            usleep(1000)
        }
    }
}
