import Synchronization

/// Whether the batch being applied has its final result in the projection's
/// memory (``ProjectionContext/evaluationFinished()``), so the next batch may be
/// prepared while its statements run; or whether it ended without saying so.
/// The first of ``ready()`` and ``end()`` settles it.
final class BatchReadiness: Sendable {
    private struct State {
        var outcome: Bool?
        var ended = false
        var waiters: [CheckedContinuation<Bool, Never>] = []
    }

    private let state = Mutex(State())

    /// The batch's result is final.
    func ready() { settle(true) }

    /// The batch is over (applied, failed or fenced); if it was not ready, the
    /// next one is not prepared ahead.
    func end() {
        state.withLock { $0.ended = true }
        settle(false)
    }

    /// Whether a task waits in ``wait()`` (for tests).
    var hasWaiter: Bool { state.withLock { !$0.waiters.isEmpty } }

    /// True once ``end()`` was called.
    var hasEnded: Bool { state.withLock { $0.ended } }

    /// Waits until settled: true if the batch became ready, false if it ended
    /// first.
    func wait() async -> Bool {
        await withCheckedContinuation { continuation in
            let outcome = state.withLock { state -> Bool? in
                if state.outcome == nil { state.waiters.append(continuation) }
                return state.outcome
            }
            if let outcome { continuation.resume(returning: outcome) }
        }
    }

    private func settle(_ outcome: Bool) {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            guard state.outcome == nil else { return [] }
            state.outcome = outcome
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: outcome) }
    }
}
