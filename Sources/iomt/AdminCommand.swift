import ArgumentParser
import Foundation
import IngestService
import Logging
import PostgresNIO
import ServiceSupport

/// `iomt admin`: administration of device tokens and development JWTs.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Administration: device tokens and development access tokens.",
        subcommands: [DeviceTokenCommand.self, AccessTokenCommand.self]
    )
}

/// Where the database is: `--database-url` or `DATABASE_URL`.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (env DATABASE_URL).")
    var url: String?

    func settings() throws -> DatabaseSettings {
        guard let url = url ?? ServiceEnvironment.process["DATABASE_URL"] else {
            throw ValidationError("DATABASE_URL is not set and --database-url was not given")
        }
        return try DatabaseSettings(url: url)
    }

    /// Runs `body` with a device-token store whose schema is migrated.
    func withDeviceTokens<T: Sendable>(_ body: @Sendable (DeviceTokenStore) async throws -> T) async throws -> T {
        let logger = {
            var logger = Logger(label: "iomt.admin")
            logger.logLevel = .warning
            return logger
        }()
        return try await PostgresClient.withClient(try settings(), logger: logger) { client in
            let store = DeviceTokenStore(client: client, cacheTTL: .zero, logger: logger)
            try await store.migrate()
            return try await body(store)
        }
    }
}

/// `iomt admin device-token create|revoke|list`.
struct DeviceTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device-token",
        abstract: "Create, revoke and list per-device bearer tokens (stored as SHA-256 hashes).",
        subcommands: [Create.self, Revoke.self, List.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token for a device and print it once.")

        @Option(help: "The device id.")
        var device: String

        @Option(help: "A label to tell tokens apart.")
        var label: String?

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let device = device
            let label = label
            let token = try await database.withDeviceTokens { try await $0.create(deviceId: device, label: label) }
            print(token)
            FileHandle.standardError.write(Data("Store this token now: it is not kept and cannot be shown again.\n".utf8))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke every token of a device, or one token.")

        @Option(help: "Revoke every active token of this device.")
        var device: String?

        @Option(help: "Revoke this token.")
        var token: String?

        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard (device == nil) != (token == nil) else { throw ValidationError("give exactly one of --device or --token") }
        }

        func run() async throws {
            let device = device
            let token = token
            let revoked = try await database.withDeviceTokens { store in
                if let device { return try await store.revoke(deviceId: device) }
                return try await store.revoke(token: token!) ? 1 : 0
            }
            print("revoked \(revoked) token(s)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (fingerprints, never secrets).")

        @Option(help: "Only this device.")
        var device: String?

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let device = device
            let records = try await database.withDeviceTokens { try await $0.list(deviceId: device) }
            for record in records {
                let state = record.revokedAt.map { "revoked \($0)" } ?? "active"
                print("\(record.deviceId)\t\(record.fingerprint)\t\(record.createdAt)\t\(state)\t\(record.label ?? "")")
            }
        }
    }
}

/// `iomt admin access-token`: signs a JWT with `JWT_HS256_SECRET`, for development
/// and tests. Production tokens come from the organisation's identity provider.
struct AccessTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access-token",
        abstract: "Sign a development JWT with JWT_HS256_SECRET."
    )

    @Option(help: "The subject (sub).")
    var subject: String

    @Option(name: .customLong("role"), help: "A role: clinical-system, clinician, ops, analyst, admin. Repeat for more.")
    var roles: [String]

    @Option(name: .customLong("facility"), help: "A facility the subject may see. Repeat for more.")
    var facilities: [String] = []

    @Flag(help: "Grant break-glass access (always audited).")
    var breakGlass = false

    @Option(help: "Lifetime in seconds.")
    var ttl: Int = 3600

    func run() async throws {
        guard let secret = ServiceEnvironment.process["JWT_HS256_SECRET"] else {
            throw ValidationError("JWT_HS256_SECRET is not set")
        }
        let parsed = try roles.map { role in
            guard let parsed = AccessRole(rawValue: role) else { throw ValidationError("unknown role \(role)") }
            return parsed
        }
        let signer = try await AccessTokenVerifier(settings: .hs256(secret: secret))
        let claims = AccessClaims(subject: subject, roles: parsed, facilities: facilities, breakGlass: breakGlass ? true : nil, expiresAt: Date().addingTimeInterval(TimeInterval(ttl)))
        print(try await signer.sign(claims))
    }
}
