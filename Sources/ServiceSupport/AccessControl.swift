import Foundation
import JWTKit
import Synchronization

/// Roles carried in a JWT's `roles` claim (DESIGN §7).
public enum AccessRole: String, Sendable, CaseIterable, Hashable {
    /// An EHR/ADT or charting system appending care events.
    case clinicalSystem = "clinical-system"
    /// A clinician: patients and alerts of the facilities in the token.
    case clinician
    /// Operations: devices and projections, no patient vitals.
    case ops
    /// Analytics: aggregate counts only.
    case analyst
    /// Everything.
    case admin
}

/// The claims of this system's access tokens.
///
/// `exp` is required (short-lived tokens are the automatic log-off of HIPAA
/// §164.312(a)(2)(iii)); `nbf` is honoured when present.
public struct AccessClaims: JWTPayload, Sendable {
    /// `sub`: the person or system.
    public var sub: SubjectClaim
    /// `roles`.
    public var roles: [String]
    /// `facilities`: facility ids the subject may see.
    public var facilities: [String]?
    /// `breakGlass`: emergency access outside the facilities, always audited.
    public var breakGlass: Bool?
    /// `exp`.
    public var exp: ExpirationClaim
    /// `nbf`.
    public var nbf: NotBeforeClaim?
    /// `iat`.
    public var iat: IssuedAtClaim?

    /// Creates claims, e.g. for a development token.
    public init(subject: String, roles: [AccessRole], facilities: [String]? = nil, breakGlass: Bool? = nil, expiresAt: Date, notBefore: Date? = nil, issuedAt: Date? = Date()) {
        self.sub = SubjectClaim(value: subject)
        self.roles = roles.map(\.rawValue)
        self.facilities = facilities
        self.breakGlass = breakGlass
        self.exp = ExpirationClaim(value: expiresAt)
        self.nbf = notBefore.map { NotBeforeClaim(value: $0) }
        self.iat = issuedAt.map { IssuedAtClaim(value: $0) }
    }

    /// Checks expiry and not-before.
    public func verify(using algorithm: some JWTAlgorithm) throws {
        try exp.verifyNotExpired()
        try nbf?.verifyNotBefore()
    }
}

/// Who is calling, once a token is verified.
public struct AccessIdentity: Sendable, Hashable {
    /// `sub`.
    public var subject: String
    /// Known roles from the token (unknown role names are ignored).
    public var roles: Set<AccessRole>
    /// Facilities the subject may see.
    public var facilities: Set<String>
    /// Break-glass access requested.
    public var breakGlass: Bool

    /// Creates an identity.
    public init(subject: String, roles: Set<AccessRole>, facilities: Set<String> = [], breakGlass: Bool = false) {
        self.subject = subject
        self.roles = roles
        self.facilities = facilities
        self.breakGlass = breakGlass
    }

    /// True when the identity has `role` (admins have every role).
    public func has(_ role: AccessRole) -> Bool { roles.contains(role) || roles.contains(.admin) }
}

/// Why a token was refused. `description` is safe to return to the caller.
public enum AccessTokenError: Error, Sendable, CustomStringConvertible {
    /// Not a JWT, bad signature, wrong algorithm, expired or not yet valid.
    case invalid(String)

    /// A short reason.
    public var description: String {
        switch self {
        case .invalid(let reason): reason
        }
    }
}

/// JWT verification settings: an HS256 secret or an RS256 public key
/// (`JWT_HS256_SECRET` or `JWT_PUBLIC_KEY_FILE`). No default: a service that
/// accepts JWTs refuses to start without one.
public enum JWTSettings: Sendable {
    /// HMAC-SHA-256 with a shared secret (at least 32 bytes).
    case hs256(secret: String)
    /// RSA-SHA-256 with a PEM public key.
    case rs256(publicKeyPEM: String)

    /// Reads `JWT_HS256_SECRET` or `JWT_PUBLIC_KEY_FILE` (exactly one).
    public init(environment: ServiceEnvironment) throws(ConfigurationError) {
        switch (environment["JWT_HS256_SECRET"], environment["JWT_PUBLIC_KEY_FILE"]) {
        case (let secret?, nil):
            guard secret.utf8.count >= 32 else {
                throw ConfigurationError(setting: "JWT_HS256_SECRET", problem: "must be at least 32 bytes")
            }
            self = .hs256(secret: secret)
        case (nil, let path?):
            guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationError(setting: "JWT_PUBLIC_KEY_FILE", problem: "cannot be read")
            }
            self = .rs256(publicKeyPEM: pem)
        case (.some, .some):
            throw ConfigurationError(setting: "JWT_HS256_SECRET", problem: "set either JWT_HS256_SECRET or JWT_PUBLIC_KEY_FILE, not both")
        case (nil, nil):
            throw ConfigurationError(setting: "JWT_HS256_SECRET", problem: "one of JWT_HS256_SECRET or JWT_PUBLIC_KEY_FILE is required")
        }
    }
}

/// Verifies access tokens (signature, algorithm, `exp`, `nbf`) and signs them
/// when configured with a shared secret (development and tests).
///
/// An app sends the same token with every request until it expires, so a token
/// whose signature verified is remembered (by its exact text, in memory only) with
/// its identity and validity window: later requests with it skip the signature
/// and the claims' JSON, but `exp` and `nbf` are still checked against the clock
/// each time. A token that fails is never remembered.
public struct AccessTokenVerifier: Sendable {
    private let keys: JWTKeyCollection
    private let verified = VerifiedTokens(limit: 10_000)

    /// Creates a verifier for the given key.
    public init(settings: JWTSettings) async throws {
        let keys = JWTKeyCollection()
        switch settings {
        case .hs256(let secret):
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        case .rs256(let pem):
            await keys.add(rsa: try Insecure.RSA.PublicKey(pem: pem), digestAlgorithm: .sha256)
        }
        self.keys = keys
    }

    /// Verifies a compact JWT and returns the caller's identity.
    public func verify(_ token: String) async throws(AccessTokenError) -> AccessIdentity {
        let now = Date()
        if let identity = verified.identity(for: token, at: now) { return identity }
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch let error as JWTError {
            throw .invalid(Self.reason(error))
        } catch {
            throw .invalid("the token is not a valid JWT")
        }
        let identity = AccessIdentity(
            subject: claims.sub.value,
            roles: Set(claims.roles.compactMap(AccessRole.init(rawValue:))),
            facilities: Set(claims.facilities ?? []),
            breakGlass: claims.breakGlass ?? false
        )
        verified.remember(token, identity: identity, notBefore: claims.nbf?.value, expiresAt: claims.exp.value)
        return identity
    }

    /// Signs claims (HS256 settings only).
    public func sign(_ claims: AccessClaims) async throws -> String {
        try await keys.sign(claims)
    }

    private static func reason(_ error: JWTError) -> String {
        switch error.errorType {
        case .claimVerificationFailure:
            let text = "\(error)"
            if text.contains("expired") || text.contains("exp") { return "the token has expired" }
            if text.contains("nbf") || text.contains("before") { return "the token is not valid yet" }
            return "a token claim is invalid"
        case .signatureVerificationFailed:
            return "the token signature is not valid"
        default:
            return "the token is not a valid JWT"
        }
    }
}


/// Tokens whose signature verified, with their identity and validity window.
private final class VerifiedTokens: Sendable {
    private struct Entry {
        var identity: AccessIdentity
        var notBefore: Date?
        var expiresAt: Date
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// The identity of a remembered token, if it is valid at `now`. An expired
    /// entry is dropped (the caller verifies again and gets the precise error).
    func identity(for token: String, at now: Date) -> AccessIdentity? {
        entries.withLock { entries in
            guard let entry = entries[token] else { return nil }
            // The same tests as jwt-kit's `exp` and `nbf` claims.
            guard now < entry.expiresAt else {
                entries.removeValue(forKey: token)
                return nil
            }
            if let notBefore = entry.notBefore, !(notBefore < now) { return nil }
            return entry.identity
        }
    }

    func remember(_ token: String, identity: AccessIdentity, notBefore: Date?, expiresAt: Date) {
        entries.withLock { entries in
            if entries.count >= limit {
                let now = Date()
                entries = entries.filter { now < $0.value.expiresAt }
                if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            }
            entries[token] = Entry(identity: identity, notBefore: notBefore, expiresAt: expiresAt)
        }
    }
}
