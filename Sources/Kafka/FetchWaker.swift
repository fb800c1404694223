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
/// about 115,000 events/s instead of 450,000–500,000.
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
/// ends (one ListOffsets request per broker, `rd_kafka_offsets_for_times`); the
/// request wakes each broker thread, which finds the queue below its bound and
/// fetches again. Requests coalesce while one is sent. A consumer that keeps up
/// with its partitions asks at most once per half a bound of messages.
final class FetchWaker: Sendable {
    /// Half the bound: bytes taken since the last wake request that may have
    /// filled the queue, and bytes left in it that are well under the bound.
    let refillBytes: Int
    /// Messages likewise (half of librdkafka's default `queued.min.messages`).
    static let refillMessages = 50_000

    private let requested = Atomic<Bool>(false)
    private let signal = DispatchSemaphore(value: 0)

    /// A waker for a queue bounded at `prefetchKilobytes` KiB.
    init(prefetchKilobytes: Int) {
        refillBytes = prefetchKilobytes * 1024 / 2
    }

    /// Called by the poll thread after a run of messages, with what it took
    /// since the last wake request, the messages still queued and the average
    /// message size. Returns true if it requested a wake (the counts start
    /// again).
    func requestIfDrained(taken: (bytes: Int, messages: Int), queuedMessages: Int, averageBytes: Int) -> Bool {
        let mayHaveFilled = taken.bytes >= refillBytes || taken.messages >= Self.refillMessages
        let wellUnder = queuedMessages * averageBytes <= refillBytes && queuedMessages <= Self.refillMessages
        guard mayHaveFilled, wellUnder else { return false }
        if !requested.exchange(true, ordering: .acquiringAndReleasing) { signal.signal() }
        return true
    }

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
