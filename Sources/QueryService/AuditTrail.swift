import Foundation
import Logging
import PostgresNIO
import ServiceSupport

/// Writes the audit trail of reads of patient data (HIPAA §164.312(b)): who,
/// which roles, what action and resource, which patients, the outcome, from
/// where, when, and whether break-glass access was used. Rows go to
/// `audit.reads`, which the query role may insert into but not read, change or
/// delete.
///
/// A read returns only after its row is committed; a read whose row cannot be
/// written is refused (503). Rows of concurrent reads are committed together
/// (group commit, ``RequestBatcher``): while one insert is in flight, the rows
/// that arrive queue up and go in the next single multi-row insert, so under load
/// a commit serves many reads and a lone read waits for nothing but its own insert.
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
    }

    /// Rows per insert: 9 parameters each, well inside PostgreSQL's 65,535.
    private static let rowsPerInsert = 500

    private let logger: Logger
    private let batcher: RequestBatcher<Row, Void>

    init(client: PostgresClient, logger: Logger) {
        self.logger = logger
        batcher = RequestBatcher(maxBatch: Self.rowsPerInsert, maxInFlight: 1) { rows in
            try await Self.insert(rows, client: client, logger: logger)
            return Array(repeating: (), count: rows.count)
        }
    }

    /// Records one read; returns once the row is committed.
    func record(_ identity: AccessIdentity, action: String, resource: String, patients: [String], outcome: String, context: QueryRequestContext) async throws {
        let row = Row(at: Date(), subject: identity.subject, roles: identity.roles.map(\.rawValue).sorted(), action: action, resource: resource,
                      patients: patients, outcome: outcome, address: context.remoteAddress?.ipAddress, breakGlass: identity.breakGlass)
        do {
            try await batcher.submit(row)
        } catch {
            logger.debug("audit insert failed", metadata: ["error": "\(String(reflecting: error))"])
            logger.error("audit row not written; refusing the read", metadata: ["action": "\(action)"])
            throw ProblemDetails.unavailable("the audit trail cannot be written right now", retryAfterSeconds: 5)
        }
    }

    private static func insert(_ rows: [Row], client: PostgresClient, logger: Logger) async throws {
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
