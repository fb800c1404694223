import Foundation
import Logging
import PostgresNIO
import ServiceSupport
import Synchronization

/// Writes the audit trail of reads of patient data (HIPAA §164.312(b)): who,
/// which roles, what action and resource, which patients, the outcome, from
/// where, when, and whether break-glass access was used. Rows go to
/// `audit.reads`, which the query role may insert into but not read, change or
/// delete.
///
/// A read returns only after its row is committed; a read whose row cannot be
/// written is refused (503). Rows of concurrent reads are committed together
/// (group commit): while one insert is in flight, the rows that arrive queue up
/// and go in the next single multi-row insert, so under load a commit serves many
/// reads and a lone read waits for nothing but its own insert.
final class AuditTrail: Sendable {
    private struct Row {
        var at: Date
        var subject: String
        var roles: [String]
        var action: String
        var resource: String
        var patients: [String]
        var outcome: String
        var address: String?
        var breakGlass: Bool
        var done: CheckedContinuation<Void, any Error>
    }

    private struct Queue {
        var rows: [Row] = []
        var writing = false
    }

    /// Rows per insert: 9 parameters each, well inside PostgreSQL's 65,535.
    private static let rowsPerInsert = 500

    private let client: PostgresClient
    private let logger: Logger
    private let queue = Mutex(Queue())

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Records one read; returns once the row is committed.
    func record(_ identity: AccessIdentity, action: String, resource: String, patients: [String], outcome: String, context: QueryRequestContext) async throws {
        let at = Date()
        let roles = identity.roles.map(\.rawValue).sorted()
        let address = context.remoteAddress?.ipAddress
        do {
            try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, any Error>) in
                let row = Row(at: at, subject: identity.subject, roles: roles, action: action, resource: resource, patients: patients,
                              outcome: outcome, address: address, breakGlass: identity.breakGlass, done: done)
                let startWriter = queue.withLock { queue in
                    queue.rows.append(row)
                    guard !queue.writing else { return false }
                    queue.writing = true
                    return true
                }
                if startWriter { Task { await self.writeQueued() } }
            }
        } catch {
            logger.error("audit row not written; refusing the read", metadata: ["action": "\(action)"])
            throw ProblemDetails.unavailable("the audit trail cannot be written right now", retryAfterSeconds: 5)
        }
    }

    /// Inserts queued rows until the queue is empty, then stands down.
    private func writeQueued() async {
        while true {
            let rows: [Row] = queue.withLock { queue in
                let taken = Array(queue.rows.prefix(Self.rowsPerInsert))
                queue.rows.removeFirst(taken.count)
                if taken.isEmpty { queue.writing = false }
                return taken
            }
            guard !rows.isEmpty else { return }
            do {
                try await insert(rows)
                for row in rows { row.done.resume() }
            } catch {
                logger.debug("audit insert failed", metadata: ["error": "\(String(reflecting: error))"])
                for row in rows { row.done.resume(throwing: error) }
            }
        }
    }

    private func insert(_ rows: [Row]) async throws {
        var sql = "INSERT INTO audit.reads (at, subject, roles, action, resource, patient_ids, outcome, client_address, break_glass) VALUES "
        var bindings = PostgresBindings(capacity: rows.count * 9)
        for (index, row) in rows.enumerated() {
            let base = index * 9
            if index > 0 { sql += ", " }
            sql += "(" + (1...9).map { "$\(base + $0)" }.joined(separator: ", ") + ")"
            bindings.append(row.at)
            bindings.append(row.subject)
            bindings.append(row.roles)
            bindings.append(row.action)
            bindings.append(row.resource)
            bindings.append(row.patients)
            bindings.append(row.outcome)
            bindings.append(row.address)
            bindings.append(row.breakGlass)
        }
        try await client.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
    }
}
