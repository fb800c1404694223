import Dispatch

/// Runs blocking librdkafka calls (metadata and watermark queries, flush) on
/// Dispatch threads so they never occupy a thread of the Swift concurrency pool.
enum BlockingCalls {
    private static let queue = DispatchQueue(label: "iomt.kafka.blocking", attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body()) }
        }
    }
}
