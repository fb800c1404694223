import Logging
import PostgresNIO

extension PostgresClient {
    /// Runs a client for the duration of `body` (for commands and tests that are
    /// not part of a `ServiceGroup`), then shuts it down.
    public static func withClient<T: Sendable>(
        _ settings: DatabaseSettings,
        logger: Logger,
        _ body: @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            do {
                // `run()` must be going before the first lease: wait until the
                // client answers (or give the body a try after about a second).
                // Give `run()` a moment to start, so the probe does not lease first.
                try await Task.sleep(for: .milliseconds(10))
                for _ in 0..<50 {
                    if (try? await client.query("SELECT 1", logger: logger)) != nil { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                let value = try await body(client)
                group.cancelAll()
                return value
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}
