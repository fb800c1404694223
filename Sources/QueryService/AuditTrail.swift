import Logging
import PostgresNIO
import ServiceSupport

/// Writes the audit trail of reads of patient data (HIPAA §164.312(b)): who,
/// which roles, what action and resource, which patients, the outcome, from
/// where, and whether break-glass access was used. Rows go to `audit.reads`,
/// which the query role may insert into but not read, change or delete. A read
/// whose audit row cannot be written is refused.
struct AuditTrail: Sendable {
    let client: PostgresClient
    let logger: Logger

    func record(_ identity: AccessIdentity, action: String, resource: String, patients: [String], outcome: String, context: QueryRequestContext) async throws {
        let roles = identity.roles.map(\.rawValue).sorted()
        let address = context.remoteAddress?.ipAddress
        do {
            try await client.query("""
                INSERT INTO audit.reads (subject, roles, action, resource, patient_ids, outcome, client_address, break_glass)
                VALUES (\(identity.subject), \(roles), \(action), \(resource), \(patients), \(outcome), \(address), \(identity.breakGlass))
                """, logger: logger)
        } catch {
            logger.error("audit row not written; refusing the read", metadata: ["action": "\(action)"])
            throw ProblemDetails.unavailable("the audit trail cannot be written right now", retryAfterSeconds: 5)
        }
    }
}
