import Logging
import PostgresNIO

/// Readiness of a PostgreSQL client: `SELECT 1` within two seconds.
public enum PostgresReadiness {
    /// Nil when PostgreSQL answered, otherwise a short reason.
    public static func check(_ client: PostgresClient, logger: Logger, timeout: Duration = .seconds(2)) async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    try await client.query("SELECT 1", logger: logger)
                    return nil
                } catch {
                    return "unreachable"
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return "timed out"
            }
            let first = await group.next() ?? "unreachable"
            group.cancelAll()
            return first
        }
    }
}
