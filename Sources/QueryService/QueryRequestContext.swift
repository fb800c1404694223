import Hummingbird
import NIOCore
import ServiceSupport

/// The request context of the query API: the caller's address (for the audit
/// trail) and, after authentication, its identity.
public struct QueryRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's storage.
    public var coreContext: CoreRequestContextStorage
    /// The client's address.
    public let remoteAddress: SocketAddress?
    /// The verified caller, set by the authentication middleware.
    public var identity: AccessIdentity?

    /// Creates the context for a request.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The caller; only nil before authentication.
    var caller: AccessIdentity {
        get throws {
            guard let identity else { throw ProblemDetails.unauthorized("a bearer token is required") }
            return identity
        }
    }
}

/// Verifies the bearer JWT of every `/v1` request.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = QueryRequestContext
    let verifier: AccessTokenVerifier

    func handle(_ request: Request, context: QueryRequestContext, next: (Request, QueryRequestContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            return ProblemDetails.unauthorized("a bearer token is required (Authorization: Bearer <JWT>)").response()
        }
        var context = context
        do {
            context.identity = try await verifier.verify(String(header.dropFirst(7)))
        } catch {
            return ProblemDetails.unauthorized(error.description).response()
        }
        do {
            return try await next(request, context)
        } catch let problem as ProblemDetails {
            return problem.response()
        }
    }
}

/// What a caller may see.
struct Scope: Sendable {
    let identity: AccessIdentity

    /// Facilities the caller is limited to; nil for no limit (admin, break-glass).
    var facilities: [String]? {
        if identity.roles.contains(.admin) || identity.breakGlass { return nil }
        return identity.facilities.sorted()
    }

    /// True when a row of `facility` is visible.
    func allows(facility: String?) -> Bool {
        guard let allowed = facilities else { return true }
        guard let facility else { return false }
        return allowed.contains(facility)
    }

    /// Throws 403 unless the caller has one of `roles` (admin always passes).
    static func require(_ identity: AccessIdentity, _ roles: AccessRole...) throws {
        guard identity.roles.contains(.admin) || roles.contains(where: identity.roles.contains) else {
            throw ProblemDetails.forbidden("this resource needs one of the roles: \(roles.map(\.rawValue).joined(separator: ", "))")
        }
    }
}
