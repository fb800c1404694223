import Foundation
import Histogram
import Synchronization

/// Drives an operation (an HTTP request, a database query) in closed and open
/// loops and records its latency.
struct LoadGenerator: Sendable {
    /// Items (events, lookups) one operation carries; rates are reported in items.
    let itemsPerRequest: Int
    /// One request, numbered; true when it succeeded.
    let operation: @Sendable (Int) async -> Bool

    struct Outcome {
        /// Items per second that succeeded.
        var eventsPerSecond: Double
        /// Latency percentiles in nanoseconds.
        var p50: UInt64
        var p99: UInt64
        var max: UInt64
        var failures: Int
    }

    /// `connections` loops posting back to back for `duration`.
    func closedLoop(connections: Int, duration: Duration) async throws -> Outcome {
        let counter = RequestCounter()
        let deadline = ContinuousClock.now + duration
        let started = ContinuousClock.now
        let results = await withTaskGroup(of: (Histogram<UInt64>, Int, Int).self) { group in
            for _ in 0..<connections {
                group.addTask {
                    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000)
                    var ok = 0
                    var failed = 0
                    while ContinuousClock.now < deadline {
                        let index = counter.next()
                        let sent = ContinuousClock.now
                        if await operation(index) { ok += 1 } else { failed += 1 }
                        _ = histogram.record(UInt64((ContinuousClock.now - sent).seconds * 1e9))
                    }
                    return (histogram, ok, failed)
                }
            }
            var merged = Histogram<UInt64>(highestTrackableValue: 60_000_000_000)
            var ok = 0
            var failed = 0
            for await (histogram, succeeded, failures) in group {
                merged.add(histogram)
                ok += succeeded
                failed += failures
            }
            return (merged, ok, failed)
        }
        let elapsed = (ContinuousClock.now - started).seconds
        return Outcome(eventsPerSecond: Double(results.1 * itemsPerRequest) / elapsed, p50: results.0.valueAtPercentile(50), p99: results.0.valueAtPercentile(99), max: results.0.max, failures: results.2)
    }

    /// Requests started on a fixed schedule (open loop); latency counts from the
    /// scheduled start, so queueing behind slow requests is not hidden.
    func openLoop(eventsPerSecond: Double, duration: Duration) async throws -> Outcome {
        let requestsPerSecond = eventsPerSecond / Double(itemsPerRequest)
        let total = Int(requestsPerSecond * duration.seconds)
        let interval = Duration.seconds(1 / requestsPerSecond)
        let started = ContinuousClock.now
        let results = await withTaskGroup(of: (UInt64, Bool).self) { group in
            for index in 0..<total {
                let scheduled = started + interval * index
                try? await Task.sleep(until: scheduled)
                group.addTask {
                    let ok = await operation(index)
                    return (UInt64((ContinuousClock.now - scheduled).seconds * 1e9), ok)
                }
            }
            var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000)
            var ok = 0
            var failed = 0
            for await (latency, succeeded) in group {
                _ = histogram.record(latency)
                if succeeded { ok += 1 } else { failed += 1 }
            }
            return (histogram, ok, failed)
        }
        let elapsed = (ContinuousClock.now - started).seconds
        return Outcome(eventsPerSecond: Double(results.1 * itemsPerRequest) / elapsed, p50: results.0.valueAtPercentile(50), p99: results.0.valueAtPercentile(99), max: results.0.max, failures: results.2)
    }
}

/// Hands out request numbers to concurrent loops.
final class RequestCounter: Sendable {
    private let value = Atomic<Int>(0)

    func next() -> Int { value.add(1, ordering: .relaxed).newValue }
}
