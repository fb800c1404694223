@testable import QueryService
import Synchronization
import Testing

@Suite("Batching concurrent requests")
struct RequestBatcherTests {
    /// What the batches saw: their sizes and the most that ran at once.
    final class Probe: Sendable {
        struct State {
            var sizes: [Int] = []
            var running = 0
            var mostRunning = 0
        }
        let state = Mutex(State())

        func run(_ items: [Int]) async throws -> [Int] {
            state.withLock { state in
                state.sizes.append(items.count)
                state.running += 1
                state.mostRunning = max(state.mostRunning, state.running)
            }
            try await Task.sleep(for: .milliseconds(20))
            state.withLock { $0.running -= 1 }
            if items.contains(-1) { throw ProbeFailure() }
            return items.map { $0 * 2 }
        }
    }

    struct ProbeFailure: Error {}

    @Test("concurrent requests share batches, each gets its own output, and no more batches run at once than allowed")
    func shareBatches() async throws {
        let probe = Probe()
        let batcher = RequestBatcher<Int, Int>(maxBatch: 16, maxInFlight: 2) { try await probe.run($0) }
        let outputs = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for item in 0..<200 { group.addTask { (item, try await batcher.submit(item)) } }
            var outputs: [Int: Int] = [:]
            for try await (item, output) in group { outputs[item] = output }
            return outputs
        }
        #expect(outputs == Dictionary(uniqueKeysWithValues: (0..<200).map { ($0, $0 * 2) }))
        let seen = probe.state.withLock { $0 }
        #expect(seen.sizes.reduce(0, +) == 200)
        #expect(seen.sizes.allSatisfy { $0 <= 16 })
        #expect(seen.sizes.contains { $0 > 1 }, "requests that waited went together")
        #expect(seen.mostRunning <= 2)
    }

    @Test("a lone request runs at once, alone")
    func lone() async throws {
        let probe = Probe()
        let batcher = RequestBatcher<Int, Int>(maxBatch: 16, maxInFlight: 1) { try await probe.run($0) }
        #expect(try await batcher.submit(21) == 42)
        #expect(probe.state.withLock { $0.sizes } == [1])
    }

    @Test("a failing batch fails its requests, and the batcher goes on")
    func failure() async throws {
        let probe = Probe()
        let batcher = RequestBatcher<Int, Int>(maxBatch: 16, maxInFlight: 1) { try await probe.run($0) }
        await #expect(throws: ProbeFailure.self) { try await batcher.submit(-1) }
        #expect(try await batcher.submit(5) == 10)
    }

    @Test("a batch that returns the wrong number of outputs fails its requests")
    func mismatch() async throws {
        let batcher = RequestBatcher<Int, Int>(maxBatch: 16, maxInFlight: 1) { _ in [] }
        await #expect(throws: BatchMismatch.self) { try await batcher.submit(1) }
    }
}
