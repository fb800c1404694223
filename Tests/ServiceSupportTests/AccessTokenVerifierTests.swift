import Foundation
import ServiceSupport
import Testing

@Suite("Access tokens")
struct AccessTokenVerifierTests {
    let secret = String(repeating: "k", count: 40)

    @Test("a token verified once is still refused once it expires, and a forged one never passes")
    func rememberedTokensExpire() async throws {
        let verifier = try await AccessTokenVerifier(settings: .hs256(secret: secret))
        let token = try await verifier.sign(AccessClaims(subject: "nurse-1", roles: [.clinician], facilities: ["fac-1"], expiresAt: Date().addingTimeInterval(1.5)))
        let first = try await verifier.verify(token)
        #expect(first == AccessIdentity(subject: "nurse-1", roles: [.clinician], facilities: ["fac-1"]))
        #expect(try await verifier.verify(token) == first, "remembered")
        try await Task.sleep(for: .seconds(2))
        await #expect(throws: AccessTokenError.self) { try await verifier.verify(token) }

        // The same claims signed with another key: refused, before and after a good token.
        let other = try await AccessTokenVerifier(settings: .hs256(secret: String(repeating: "x", count: 40)))
        let forged = try await other.sign(AccessClaims(subject: "nurse-1", roles: [.admin], expiresAt: Date().addingTimeInterval(60)))
        await #expect(throws: AccessTokenError.self) { try await verifier.verify(forged) }
        await #expect(throws: AccessTokenError.self) { try await verifier.verify(forged) }
    }

    @Test("a token that is not valid yet is refused until its nbf, even when remembered")
    func notBefore() async throws {
        let verifier = try await AccessTokenVerifier(settings: .hs256(secret: secret))
        let token = try await verifier.sign(AccessClaims(subject: "ops-1", roles: [.ops], expiresAt: Date().addingTimeInterval(60), notBefore: Date().addingTimeInterval(1)))
        await #expect(throws: AccessTokenError.self) { try await verifier.verify(token) }
        try await Task.sleep(for: .seconds(1.5))
        #expect(try await verifier.verify(token).subject == "ops-1")
        #expect(try await verifier.verify(token).subject == "ops-1")
    }
}
