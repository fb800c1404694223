import Synchronization

/// Runs the database work of concurrent requests together (natural batching).
///
/// A request that finds fewer than `maxInFlight` batches running starts one at
/// once, alone: an idle service adds no wait. Requests that arrive while the
/// limit is reached queue, and the next batch to start takes up to `maxBatch` of
/// them. Under load one statement, one round trip and one commit serve many
/// requests; each request still returns only when its own batch has finished.
///
/// A batch that throws fails every request in it with that error.
final class RequestBatcher<Item: Sendable, Output: Sendable>: Sendable {
    private struct Waiting {
        var item: Item
        var done: CheckedContinuation<Output, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var running = 0
    }

    private let maxBatch: Int
    private let maxInFlight: Int
    private let run: @Sendable ([Item]) async throws -> [Output]
    private let state = Mutex(State())

    /// - Parameters:
    ///   - maxBatch: most requests in one batch.
    ///   - maxInFlight: most batches running at once.
    ///   - run: does a batch's work; returns one output per item, in order.
    init(maxBatch: Int, maxInFlight: Int, run: @escaping @Sendable ([Item]) async throws -> [Output]) {
        precondition(maxBatch > 0 && maxInFlight > 0)
        self.maxBatch = maxBatch
        self.maxInFlight = maxInFlight
        self.run = run
    }

    /// Submits one request; returns its output once its batch has finished.
    func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Output, any Error>) in
            let start = state.withLock { state in
                state.waiting.append(Waiting(item: item, done: done))
                guard state.running < maxInFlight else { return false }
                state.running += 1
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    /// Runs batches until nothing waits, then stands down.
    private func drain() async {
        while true {
            let batch: [Waiting] = state.withLock { state in
                let taken = Array(state.waiting.prefix(maxBatch))
                state.waiting.removeFirst(taken.count)
                if taken.isEmpty { state.running -= 1 }
                return taken
            }
            guard !batch.isEmpty else { return }
            do {
                let outputs = try await run(batch.map(\.item))
                guard outputs.count == batch.count else {
                    throw BatchMismatch(items: batch.count, outputs: outputs.count)
                }
                for (waiting, output) in zip(batch, outputs) { waiting.done.resume(returning: output) }
            } catch {
                for waiting in batch { waiting.done.resume(throwing: error) }
            }
        }
    }
}

/// A batch's work returned a different number of outputs than it had items.
struct BatchMismatch: Error, CustomStringConvertible {
    let items: Int
    let outputs: Int
    var description: String { "a batch of \(items) requests returned \(outputs) outputs" }
}
