/// Capped exponential backoff for transient failures (PostgreSQL or Kafka
/// unavailable). The runtime never skips an event: it retries the same batch.
public struct RetryPolicy: Sendable {
    /// First delay. Default 100 ms.
    public var initialDelay: Duration = .milliseconds(100)
    /// Largest delay. Default 5 s.
    public var maximumDelay: Duration = .seconds(5)

    /// The default policy.
    public init() {}

    /// The delay before attempt `attempt` (1 = first retry).
    public func delay(forAttempt attempt: Int) -> Duration {
        var delay = initialDelay
        for _ in 1..<max(attempt, 1) {
            delay = delay * 2
            if delay >= maximumDelay { return maximumDelay }
        }
        return min(delay, maximumDelay)
    }
}
