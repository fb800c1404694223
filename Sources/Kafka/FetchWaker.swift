import Dispatch
import Synchronization

/// Wakes librdkafka's broker threads while the consumer drains a prefetch queue
/// that may have been full.
///
/// librdkafka 2.0.2 stops fetching once the prefetch queue holds
/// `queued.max.messages.kbytes` (or `queued.min.messages` messages), and a broker
/// thread with nothing to fetch decides again only when something wakes it, at
/// the latest a second later (`rd_kafka_broker_consumer_serve`; librdkafka issue
/// 2879; 2.4.0 added `fetch.queue.backoff.ms`). A consumer that empties the queue
/// sooner waits for data its brokers have: in `iomt bench projection --projection
/// alerts` batches came in cycles of full, partial and 1,000-event ones, with the
/// worker idle up to 160 ms between them, and the consume-and-decode pass ran at
/// 82,000–116,000 events/s instead of 456,000–527,000.
///
/// The poll thread counts what it takes from the queue and, after each run of
/// messages it took, calls ``requestIfDrained(taken:queuedMessages:averageBytes:)``
/// with what it took since the last wake request and what the queue still
/// holds. At least half the bound taken means the queue may have reached the
/// bound since (everything it held passed through the poll thread, perhaps
/// refilled in pieces from several brokers); at most half the bound left means
/// it is well under it now. Then a wake is requested, early enough that the
/// fetch answers arrive before the queue runs dry. A thread of the consumer
/// (``run(until:wake:)``) asks the assigned partitions' leaders for their log
/// ends (one ListOffsets request per broker, `rd_kafka_offsets_for_times`,
/// for the partitions the rebalance callback recorded here); the
/// request wakes each broker thread, which finds the queue below its bound and
/// fetches again. Requests coalesce while one is sent. A consumer that keeps up
/// with its partitions asks at most once per half a bound of messages.
final class FetchWaker: Sendable {
    /// Half the bound: bytes taken since the last wake request that may have
    /// filled the queue, and bytes left in it that are well under the bound.
    let refillBytes: Int
    /// Messages likewise: half of `queued.min.messages`.
    let refillMessages: Int

    private let requested = Atomic<Bool>(false)
    private let signal = DispatchSemaphore(value: 0)
    /// The assignment, as the poll thread's rebalance callback applied it: the
    /// partitions whose leaders a wake asks (reading it from librdkafka would
    /// wait for its main thread).
    private let partitions = Mutex<Set<KafkaTopicPartition>>([])

    /// A waker for a queue bounded at `prefetchKilobytes` KiB and
    /// `queuedMinMessages` messages.
    init(prefetchKilobytes: Int, queuedMinMessages: Int) {
        refillBytes = prefetchKilobytes * 1024 / 2
        refillMessages = max(1, queuedMinMessages / 2)
    }

    /// Called by the poll thread after a run of messages, with what it took
    /// since the last wake request, the messages still queued and the average
    /// message size. Returns true if it requested a wake (the counts start
    /// again).
    func requestIfDrained(taken: (bytes: Int, messages: Int), queuedMessages: Int, averageBytes: Int) -> Bool {
        let mayHaveFilled = taken.bytes >= refillBytes || taken.messages >= refillMessages
        let wellUnder = queuedMessages * averageBytes <= refillBytes && queuedMessages <= refillMessages
        guard mayHaveFilled, wellUnder else { return false }
        if !requested.exchange(true, ordering: .acquiringAndReleasing) { signal.signal() }
        return true
    }

    /// Records partitions assigned (`replacing` the assignment for an eager
    /// rebalance) or revoked (`all` of them for an eager one).
    func assigned(_ changed: [KafkaTopicPartition], replacing: Bool) {
        partitions.withLock { if replacing { $0 = Set(changed) } else { $0.formUnion(changed) } }
    }

    /// See ``assigned(_:replacing:)``.
    func revoked(_ changed: [KafkaTopicPartition], all: Bool) {
        partitions.withLock { if all { $0 = [] } else { $0.subtract(changed) } }
    }

    /// The partitions assigned now.
    var assignment: [KafkaTopicPartition] { partitions.withLock { Array($0) } }

    /// Ends ``run(until:wake:)`` promptly once its `isClosing` says so.
    func stop() { signal.signal() }

    /// Calls `wake` once per request (requests made while it runs are served
    /// once after it), until `isClosing` says so. Runs on a thread of its own.
    func run(until isClosing: () -> Bool, wake: () -> Void) {
        while !isClosing() {
            guard signal.wait(timeout: .now() + .milliseconds(100)) == .success else { continue }
            requested.store(false, ordering: .releasing)
            if !isClosing() { wake() }
        }
    }
}
