import CRdKafka
import Synchronization

/// Collects the delivery reports of one batch of produced records without a
/// per-message allocation or reference count.
///
/// Each record's librdkafka opaque points at its own slot; the slot holds the
/// tracker, and the slot's position is the record's index. Reports are stored as
/// plain values (partition, offset, error code); the waiting caller turns them into
/// results with the topics of its own records, on its own thread. The tracker
/// keeps itself alive (one retain) until every record has a report, so a caller
/// that stops waiting (deadline) never leaves librdkafka with a dangling opaque.
final class DeliveryTracker: Sendable {
    /// One record's report: `code` is `pending` until the report arrives.
    struct Report: Sendable {
        static let pending = Int32.min
        var partition: Int32 = -1
        var offset: Int64 = -1
        var code: Int32 = pending
    }

    private struct State {
        var reports: [Report]
        var remaining: Int
        var waiter: CheckedContinuation<[Report], Never>?
        var answered = false
        var deadlinePassed = false
    }

    private let count: Int
    private let state: Mutex<State>
    // Written once in init, read-only afterwards; freed in deinit.
    private nonisolated(unsafe) let slots: UnsafeMutablePointer<Unmanaged<DeliveryTracker>>

    init(count: Int) {
        self.count = count
        self.state = Mutex(State(reports: Array(repeating: Report(), count: count), remaining: count))
        self.slots = .allocate(capacity: max(count, 1))
        slots.initialize(repeating: Unmanaged.passUnretained(self), count: max(count, 1))
        // Balanced by the release in `record` when the last report arrives.
        if count > 0 { _ = Unmanaged.passRetained(self) }
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

    /// Records the report of record `index` (from the delivery callback, or an
    /// enqueue failure). Exactly once per index.
    func record(index: Int, partition: Int32, offset: Int64, error: rd_kafka_resp_err_t) {
        let (waiter, reports, last) = state.withLock { state -> (CheckedContinuation<[Report], Never>?, [Report], Bool) in
            precondition(state.reports[index].code == Report.pending, "delivery report recorded twice")
            state.reports[index] = Report(partition: partition, offset: offset, code: error.rawValue)
            state.remaining -= 1
            guard state.remaining == 0 else { return (nil, [], false) }
            guard !state.answered, let waiter = state.waiter else { return (nil, [], true) }
            state.answered = true
            state.waiter = nil
            return (waiter, state.reports, true)
        }
        waiter?.resume(returning: reports)
        if last { Unmanaged.passUnretained(self).release() }
    }

    /// Waits for every report, or until `timeout` passes. Reports still `pending`
    /// at the deadline may be delivered later: the caller must not call them
    /// accepted.
    func reports(timeout: Duration?) async -> [Report] {
        if count == 0 { return [] }
        let timer = timeout.map { timeout in
            Task { [self] in
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { expire() }
            }
        }
        defer { timer?.cancel() }
        return await withCheckedContinuation { continuation in
            let ready: [Report]? = state.withLock { state in
                if state.remaining == 0 || state.deadlinePassed {
                    state.answered = true
                    return state.reports
                }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func expire() {
        let answer = state.withLock { state -> (CheckedContinuation<[Report], Never>, [Report])? in
            state.deadlinePassed = true
            guard !state.answered, let waiter = state.waiter else { return nil }
            state.answered = true
            state.waiter = nil
            return (waiter, state.reports)
        }
        if let (waiter, reports) = answer { waiter.resume(returning: reports) }
    }
}
