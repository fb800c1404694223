import CRdKafka
import Synchronization

/// Collects the delivery reports of one batch of produced records without a
/// per-message allocation.
///
/// Each record's librdkafka opaque points at its own slot in `slots`; the slot holds
/// the tracker, and the slot's position is the record's index. The tracker keeps
/// itself alive (one retain) until every record has a report, so a caller that stops
/// waiting (deadline) never leaves librdkafka with a dangling opaque.
final class DeliveryTracker: Sendable {
    typealias Outcome = Result<KafkaDeliveryReport, KafkaError>

    private struct State {
        var outcomes: [Outcome?]
        var remaining: Int
        var waiter: CheckedContinuation<[Outcome], Never>?
        var answered = false
        var deadlinePassed = false
    }

    private let topics: [String]
    private let state: Mutex<State>
    // Written once in init, read-only afterwards; freed in deinit.
    private nonisolated(unsafe) let slots: UnsafeMutablePointer<Unmanaged<DeliveryTracker>>

    init(topics: [String]) {
        self.topics = topics
        self.state = Mutex(State(outcomes: Array(repeating: nil, count: topics.count), remaining: topics.count))
        self.slots = .allocate(capacity: max(topics.count, 1))
        let unmanaged = Unmanaged.passUnretained(self)
        slots.initialize(repeating: unmanaged, count: max(topics.count, 1))
        // Balanced by the release in `record` when the last outcome arrives.
        if !topics.isEmpty { _ = Unmanaged.passRetained(self) }
    }

    deinit {
        slots.deallocate()
    }

    /// The librdkafka opaque for record `index`.
    func opaque(for index: Int) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(slots + index)
    }

    /// Resolves an opaque produced by ``opaque(for:)`` into its tracker and index.
    static func resolve(_ opaque: UnsafeMutableRawPointer) -> (DeliveryTracker, Int) {
        let slot = opaque.assumingMemoryBound(to: Unmanaged<DeliveryTracker>.self)
        let tracker = slot.pointee.takeUnretainedValue()
        return (tracker, tracker.slots.distance(to: slot))
    }

    /// Records the outcome of record `index` (from the delivery callback or a
    /// synchronous enqueue failure). Exactly once per index.
    func record(index: Int, partition: Int32, offset: Int64, error: rd_kafka_resp_err_t) {
        let outcome: Outcome = error == RD_KAFKA_RESP_ERR_NO_ERROR
            ? .success(KafkaDeliveryReport(topic: topics[index], partition: partition, offset: offset))
            : .failure(KafkaError(kind: error == RD_KAFKA_RESP_ERR__FATAL ? .fatal : .delivery, rdError: error))
        record(index: index, outcome: outcome)
    }

    /// Records a failure raised before the record reached librdkafka.
    func record(index: Int, outcome: Outcome) {
        let (waiter, outcomes, last) = state.withLock { state -> (CheckedContinuation<[Outcome], Never>?, [Outcome], Bool) in
            precondition(state.outcomes[index] == nil, "delivery outcome recorded twice")
            state.outcomes[index] = outcome
            state.remaining -= 1
            guard state.remaining == 0 else { return (nil, [], false) }
            guard !state.answered, let waiter = state.waiter else { return (nil, [], true) }
            state.answered = true
            state.waiter = nil
            return (waiter, Self.answer(state.outcomes), true)
        }
        waiter?.resume(returning: outcomes)
        if last { Unmanaged.passUnretained(self).release() }
    }

    /// Waits for every outcome, or until `timeout` passes: records without a report
    /// by then are answered with a `timedOut` error (they may still be delivered
    /// later; the caller must not call them accepted).
    func outcomes(timeout: Duration?) async -> [Outcome] {
        if topics.isEmpty { return [] }
        let timer = timeout.map { timeout in
            Task { [self] in
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { expire() }
            }
        }
        defer { timer?.cancel() }
        return await withCheckedContinuation { continuation in
            let ready: [Outcome]? = state.withLock { state in
                if state.remaining == 0 || state.deadlinePassed {
                    state.answered = true
                    return Self.answer(state.outcomes)
                }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func expire() {
        let answer = state.withLock { state -> (CheckedContinuation<[Outcome], Never>, [Outcome])? in
            state.deadlinePassed = true
            guard !state.answered, let waiter = state.waiter else { return nil }
            state.answered = true
            state.waiter = nil
            return (waiter, Self.answer(state.outcomes))
        }
        if let (waiter, outcomes) = answer { waiter.resume(returning: outcomes) }
    }

    private static func answer(_ outcomes: [Outcome?]) -> [Outcome] {
        let timedOut = KafkaError.timedOut("no delivery report before the deadline")
        return outcomes.map { $0 ?? .failure(timedOut) }
    }
}
