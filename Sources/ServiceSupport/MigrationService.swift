import Logging
import PostgresNIO
import ServiceLifecycle

/// Applies migration sets once at start, retrying with capped backoff while
/// PostgreSQL is unreachable, then stays up until shutdown (a `ServiceGroup`
/// treats a returning service as finished).
public struct MigrationService: Service {
    let client: PostgresClient
    let sets: [MigrationSet]
    let logger: Logger
    let onApplied: @Sendable () async -> Void

    /// Creates the service. `onApplied` runs once every set is applied.
    public init(client: PostgresClient, sets: [MigrationSet], logger: Logger, onApplied: @escaping @Sendable () async -> Void = {}) {
        self.client = client
        self.sets = sets
        self.logger = logger
        self.onApplied = onApplied
    }

    /// Applies the migrations, then waits for graceful shutdown.
    public func run() async throws {
        var delay = Duration.milliseconds(200)
        for set in sets {
            while true {
                do {
                    try await Migrator.apply(set, on: client, logger: logger)
                    break
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("migrations not applied yet; retrying", metadata: ["component": "\(set.component)", "error": "\(String(describing: type(of: error)))"])
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, .seconds(10))
                }
            }
        }
        await onApplied()
        try? await gracefulShutdown()
    }
}
