import Foundation
import ServiceSupport
import Testing

@Suite("Access control matrix", .serialized, .timeLimit(.minutes(3)))
struct AuthorizationTests {
    func expectNoPatientData(_ reply: Reply, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.contentType == "application/problem+json", sourceLocation: sourceLocation)
        #expect(!reply.text.contains("pat-"), "no patient data in \(reply.text)", sourceLocation: sourceLocation)
        #expect(!reply.text.contains("8867-4"), sourceLocation: sourceLocation)
    }

    @Test("no, malformed, expired and wrongly signed tokens get 401 and nothing else")
    func unauthenticated() async throws {
        let cases: [(String?, String)] = [
            (nil, "none"), ("not.a.jwt", "malformed"), ("abc", "garbage"),
            (try await token([.admin], expiresIn: -60), "expired"),
            (try await token([.admin], secret: "another-secret-0123456789-abcdefghijklmnop"), "wrong signature"),
        ]
        for (candidate, label) in cases {
            let reply = try await get("/v1/patients/pat-n1", token: candidate)
            #expect(reply.status == 401, "\(label): \(reply.status)")
            expectNoPatientData(reply)
        }
    }

    @Test("roles without access get 403", arguments: [
        ("/v1/patients/pat-n1", "analyst"), ("/v1/patients", "ops"), ("/v1/devices", "analyst"), ("/v1/projections", "clinician"),
        ("/v1/stats", "clinician"), ("/v1/alerts", "clinical-system"), ("/v1/alerts/stream", "ops"),
    ])
    func wrongRole(path: String, roleName: String) async throws {
        let reply = try await get(path, token: try await token([role(roleName)]))
        #expect(reply.status == 403, "\(path) as \(roleName): \(reply.status)")
        expectNoPatientData(reply)
    }

    @Test("another facility's patient is 404 and missing from lists")
    func otherFacility() async throws {
        let north = try await token([.clinician], facilities: ["fac-north"])
        let reply = try await get("/v1/patients/pat-s1", token: north)
        #expect(reply.status == 404)
        expectNoPatientData(reply)
        #expect(try await get("/v1/patients/pat-s1/alerts", token: north).status == 404)
        #expect(!(try await get("/v1/alerts", token: north)).text.contains("pat-s1"))
        #expect(try await get("/v1/patients/pat-does-not-exist", token: north).status == 404, "unknown and out of scope look the same")
    }

    @Test("break-glass opens another facility's patient, and the read is audited as break-glass")
    func breakGlass() async throws {
        let glass = try await token([.clinician], facilities: ["fac-north"], breakGlass: true, subject: "dr-glass")
        let reply = try await get("/v1/patients/pat-s1", token: glass)
        #expect(reply.status == 200)
        let rows = try await auditRows(subject: "dr-glass")
        #expect(rows.contains { $0.action == "get-patient" && $0.patients == ["pat-s1"] && $0.breakGlass })
    }
}

/// A role by its claim value.
func role(_ name: String) -> AccessRole { AccessRole(rawValue: name)! }
