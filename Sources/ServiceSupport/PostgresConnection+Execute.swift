import Logging
import PostgresNIO

extension PostgresConnection {
    /// Runs a statement, reading and dropping any rows it returns, so that its
    /// failure is thrown here. PostgreSQL reports a failure while executing a
    /// statement that returns rows (`SELECT pg_advisory_xact_lock(…)`,
    /// `INSERT … RETURNING`) with those rows: left unread, the error was lost, the
    /// transaction stayed aborted, and only a later statement failed, as "current
    /// transaction is aborted".
    public func execute(_ query: PostgresQuery, logger: Logger) async throws {
        for try await _ in try await self.query(query, logger: logger) {}
    }
}
