import Foundation
import ServiceSupport

/// Turns an `Authorization: Bearer …` header into a ``Publisher``: device tokens
/// (`iomt_dev_…`) are looked up by hash, anything shaped like a JWT is verified.
/// Tokens never reach a log.
struct IngestAuthenticator: Sendable {
    let deviceTokens: DeviceTokenStore
    let accessTokens: AccessTokenVerifier

    func authenticate(_ authorization: String?) async throws(ProblemDetails) -> Publisher {
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            throw .unauthorized("a bearer token is required (Authorization: Bearer <device token or JWT>)")
        }
        let token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        if token.hasPrefix(DeviceTokenStore.tokenPrefix) {
            let device: String?
            do {
                device = try await deviceTokens.authenticate(token)
            } catch {
                throw .unavailable("device tokens cannot be checked right now", retryAfterSeconds: 5)
            }
            guard let device else { throw .unauthorized("the device token is not valid or was revoked") }
            return .device(id: device)
        }
        guard token.split(separator: ".", omittingEmptySubsequences: false).count == 3 else {
            throw .unauthorized("the bearer token is neither a device token nor a JWT")
        }
        do {
            return .system(try await accessTokens.verify(token))
        } catch {
            throw .unauthorized(error.description)
        }
    }
}

