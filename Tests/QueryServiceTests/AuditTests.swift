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

    @Test("concurrent patient reads of callers with different scopes, batched together: each gets its own answer and audit row")
    func batchedReadsKeepCallersApart() async throws {
        let run = UUID().uuidString.prefix(6)
        // (caller, patient, expected status, expected outcome, break-glass)
        let callers: [(subject: String, token: String, patient: String, status: Int, outcome: String, breakGlass: Bool)] = [
            ("north-\(run)", try await token([.clinician], facilities: ["fac-north"], subject: "north-\(run)"), "pat-n1", 200, "ok", false),
            ("north-other-\(run)", try await token([.clinician], facilities: ["fac-north"], subject: "north-other-\(run)"), "pat-s1", 404, "not-found-or-denied", false),
            ("south-\(run)", try await token([.clinician], facilities: ["fac-south"], subject: "south-\(run)"), "pat-s1", 200, "ok", false),
            ("both-\(run)", try await token([.clinician], facilities: ["fac-north", "fac-south"], subject: "both-\(run)"), "pat-n2", 200, "ok", false),
            ("admin-\(run)", try await token([.admin], facilities: [], subject: "admin-\(run)"), "pat-s1", 200, "ok", false),
            ("glass-\(run)", try await token([.clinician], facilities: ["fac-north"], breakGlass: true, subject: "glass-\(run)"), "pat-s1", 200, "ok", true),
            ("unknown-\(run)", try await token([.clinician], facilities: ["fac-north"], subject: "unknown-\(run)"), "pat-none", 404, "not-found-or-denied", false),
        ]
        let rounds = 12
        let replies = try await withThrowingTaskGroup(of: (Int, Reply).self) { group in
            for _ in 0..<rounds {
                for (index, caller) in callers.enumerated() {
                    group.addTask { (index, try await get("/v1/patients/\(caller.patient)", token: caller.token)) }
                }
            }
            var replies: [(Int, Reply)] = []
            for try await reply in group { replies.append(reply) }
            return replies
        }
        #expect(replies.count == rounds * callers.count)
        for (index, reply) in replies {
            let caller = callers[index]
            #expect(reply.status == caller.status, "\(caller.subject) reading \(caller.patient): \(reply.status)")
            if caller.status == 200 {
                #expect(reply.json["patientId"] as? String == caller.patient)
            } else {
                #expect(!reply.text.contains("pat-"), "no patient data in \(reply.text)")
            }
        }
        for caller in callers {
            let rows = try await auditRows(subject: caller.subject)
            #expect(rows.count == rounds, "\(caller.subject): one audit row per read")
            #expect(rows.allSatisfy { $0.action == "get-patient" && $0.patients == [caller.patient] }, "\(caller.subject)")
            #expect(rows.allSatisfy { $0.outcome == caller.outcome && $0.breakGlass == caller.breakGlass }, "\(caller.subject): \(rows)")
        }
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
