import Foundation
import NIOSSL
import PostgresNIO

/// PostgreSQL connection settings from `DATABASE_URL` (DESIGN §7).
///
/// Form: `postgres://user:password@host:port/database?sslmode=…`. `sslmode` follows
/// libpq: `disable`, `prefer` (the default), `require` (encrypt, do not verify),
/// `verify-ca` (verify the chain), `verify-full` (verify chain and host name);
/// `sslrootcert=/path/ca.pem` names the trust roots for the verifying modes.
public struct DatabaseSettings: Sendable {
    /// TLS requirement, as libpq's `sslmode`.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, without verification.
        case prefer
        /// TLS always, without certificate verification.
        case require
        /// TLS always, certificate chain verified.
        case verifyCA = "verify-ca"
        /// TLS always, certificate chain and host name verified.
        case verifyFull = "verify-full"
    }

    /// Server host name or address.
    public var host: String
    /// Server port. Default 5432.
    public var port: Int
    /// Role to log in as.
    public var username: String
    /// Password, if any.
    public var password: String?
    /// Database name.
    public var database: String
    /// TLS mode.
    public var sslMode: SSLMode
    /// CA bundle for the verifying modes; the system roots when `nil`.
    public var sslRootCertificate: String?
    /// Largest number of pooled connections. Default 10.
    public var maximumConnections: Int = 10

    /// Parses a `postgres://` or `postgresql://` URL. Errors name the setting but
    /// never echo the URL (it holds a password).
    public init(url: String, setting: String = "DATABASE_URL") throws(ConfigurationError) {
        guard let components = URLComponents(string: url),
              components.scheme == "postgres" || components.scheme == "postgresql"
        else {
            throw ConfigurationError(setting: setting, problem: "must be a postgres:// URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ConfigurationError(setting: setting, problem: "has no host")
        }
        guard let username = components.user, !username.isEmpty else {
            throw ConfigurationError(setting: setting, problem: "has no user name")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw ConfigurationError(setting: setting, problem: "has no database name")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = username.removingPercentEncoding ?? username
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        guard let mode = SSLMode(rawValue: query["sslmode"] ?? SSLMode.prefer.rawValue) else {
            throw ConfigurationError(setting: setting, problem: "sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.sslMode = mode
        self.sslRootCertificate = query["sslrootcert"]
    }

    /// Reads `DATABASE_URL` (required) and `DATABASE_MAX_CONNECTIONS` (default 10).
    public init(environment: ServiceEnvironment) throws(ConfigurationError) {
        try self.init(url: environment.required("DATABASE_URL"))
        maximumConnections = try environment.integer("DATABASE_MAX_CONNECTIONS", default: 10, in: 1...1000)
    }

    /// The same settings as another role (for example the read-only query role).
    public func with(username: String, password: String?) -> DatabaseSettings {
        var copy = self
        copy.username = username
        copy.password = password
        return copy
    }

    /// The TLS configuration of ``sslMode``: nil for `disable`, and whether TLS is
    /// required.
    private func tlsConfiguration() -> (configuration: TLSConfiguration, required: Bool)? {
        switch sslMode {
        case .disable:
            return nil
        case .prefer, .require:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return (configuration, sslMode == .require)
        case .verifyCA, .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = sslMode == .verifyFull ? .fullVerification : .noHostnameVerification
            if let path = sslRootCertificate {
                configuration.trustRoots = .file(path)
            }
            return (configuration, true)
        }
    }

    /// A PostgresNIO client (pool) configuration.
    public func clientConfiguration() throws(ConfigurationError) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        if let (configuration, required) = tlsConfiguration() {
            tls = required ? .require(configuration) : .prefer(configuration)
        } else {
            tls = .disable
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls
        )
        configuration.options.maximumConnections = maximumConnections
        return configuration
    }

    /// A single-connection configuration, for sessions that must not go back to a
    /// pool (session-level advisory locks).
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        if let (configuration, required) = tlsConfiguration() {
            let context = try NIOSSLContext(configuration: configuration)
            tls = required ? .require(context) : .prefer(context)
        } else {
            tls = .disable
        }
        return PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
    }
}
