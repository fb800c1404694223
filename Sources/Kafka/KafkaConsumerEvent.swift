import Dispatch
import Synchronization

/// What a ``KafkaConsumer`` delivers, in order.
///
/// Order is the contract: every batch containing messages of a partition arrives
/// before that partition's ``KafkaRevocation``, and no message of a newly assigned
/// partition arrives before its ``KafkaAssignment`` has been answered.
public enum KafkaConsumerEvent: Sendable {
    /// A batch of messages (at most `maxBatchSize`), in offset order per partition.
    case messages([KafkaMessage])
    /// Partitions were added to this member. Answer with ``KafkaAssignment/start(at:)``.
    case assigned(KafkaAssignment)
    /// Partitions are being taken away. Finish work on them, then
    /// ``KafkaRevocation/acknowledge()``.
    case revoked(KafkaRevocation)
}

/// Partitions newly assigned to this consumer, waiting for the caller to say where
/// to start each one.
///
/// The consumer's poll thread waits (up to `rebalanceReplyTimeout`) for the answer.
/// Dropping the value without answering starts every partition at its committed
/// offset (or `auto.offset.reset`).
public final class KafkaAssignment: Sendable {
    /// The partitions added.
    public let partitions: [KafkaTopicPartition]
    let reply = RebalanceReply<[KafkaTopicPartition: Int64]>()

    init(partitions: [KafkaTopicPartition]) {
        self.partitions = partitions
    }

    deinit { reply.answer([:]) }

    /// Starts consuming. `offsets` gives the next offset to read per partition (for
    /// example a checkpoint stored with the projection), or ``KafkaOffset/beginning``;
    /// a partition missing from `offsets` starts at its committed offset.
    /// Only the first call counts.
    public func start(at offsets: [KafkaTopicPartition: Int64]) {
        reply.answer(offsets)
    }
}

/// Partitions being taken from this consumer.
///
/// The poll thread waits (up to `rebalanceReplyTimeout`) for ``acknowledge()``
/// before giving the partitions up, so a caller can finish and checkpoint the batch
/// it is working on. Dropping the value acknowledges it.
public final class KafkaRevocation: Sendable {
    /// The partitions being revoked.
    public let partitions: [KafkaTopicPartition]
    /// True when the partitions were lost (session timeout, fencing) rather than
    /// handed over: another member may already own them, so do not commit for them.
    public let lost: Bool
    let reply = RebalanceReply<Void>()

    init(partitions: [KafkaTopicPartition], lost: Bool) {
        self.partitions = partitions
        self.lost = lost
    }

    deinit { reply.answer(()) }

    /// Lets the consumer give the partitions up.
    public func acknowledge() {
        reply.answer(())
    }
}

/// A one-shot answer from an async caller to the blocked poll thread.
final class RebalanceReply<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    private let signal = DispatchSemaphore(value: 0)

    func answer(_ answer: Value) {
        let first = value.withLock { value in
            guard value == nil else { return false }
            value = answer
            return true
        }
        if first { signal.signal() }
    }

    /// Blocks the calling thread until answered, `timeout` passes or `abandon`
    /// returns true (checked every 100 ms). Returns the answer, if any.
    func wait(timeout: Duration, abandon: () -> Bool) -> Value? {
        let deadline = ContinuousClock.now + timeout
        while signal.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            if abandon() || ContinuousClock.now >= deadline { return nil }
        }
        return value.withLock { $0 }
    }
}
