import Foundation
import PostgresNIO
import ServiceSupport
import Testing
import WorkerTestSupport

@Suite("Audit trail", .serialized, .timeLimit(.minutes(3)))
struct AuditTests {
    @Test("every read of patient data writes an audit row: who, what, which patients, the outcome")
    func rowsPerRead() async throws {
        let subject = "auditor-\(UUID().uuidString.prefix(6))"
        let token = try await token([.clinician], subject: subject)
        _ = try await get("/v1/patients/pat-n1", token: token)
        _ = try await get("/v1/patients", token: token)
        _ = try await get("/v1/patients/pat-n1/alerts", token: token)
        _ = try await get("/v1/alerts", token: token)
        _ = try await get("/v1/patients/pat-s1", token: token)
        let rows = try await auditRows(subject: subject)
        #expect(rows.map(\.action) == ["get-patient", "list-patients", "list-patient-alerts", "list-alerts", "get-patient"])
        #expect(rows[0].patients == ["pat-n1"])
        #expect(Set(rows[1].patients) == ["pat-n1", "pat-n2"])
        #expect(rows[4].outcome == "not-found-or-denied")
        #expect(rows.allSatisfy { !$0.breakGlass })
    }

    @Test("the query role may insert audit rows but not read, change or delete them")
    func queryRoleCannotTamper() async throws {
        let stack = try await QueryStack.shared.get()
        let settings = stack.environment.database.settings.with(username: ReadAccess.defaultRole, password: queryPassword)
        try await PostgresClient.withClient(settings, logger: quietLogger()) { client in
            try await client.query("INSERT INTO audit.reads (subject, roles, action, resource, patient_ids, outcome) VALUES ('t', '{}', 'test', 'test', '{}', 'ok')")
            for statement in ["SELECT count(*) FROM audit.reads", "UPDATE audit.reads SET outcome = 'x'", "DELETE FROM audit.reads", "TRUNCATE audit.reads"] {
                do {
                    try await client.query(PostgresQuery(unsafeSQL: statement))
                    Issue.record("the query role could run: \(statement)")
                } catch let error as PSQLError {
                    #expect(error.serverInfo?[.sqlState] == "42501", "\(statement): permission denied")
                }
            }
            // And it cannot write the projections.
            do {
                try await client.query("DELETE FROM patient_state.patients")
                Issue.record("the query role could write a projection")
            } catch let error as PSQLError {
                #expect(error.serverInfo?[.sqlState] == "42501")
            }
        }
    }
}
