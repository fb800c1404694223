import Crypto
import Foundation
import Logging
import PostgresNIO
import ServiceSupport
import Synchronization

/// Per-device bearer tokens: created once (the plaintext is shown only then),
/// stored as SHA-256 hashes in `ingest.device_tokens`, revocable.
///
/// Verified tokens are cached in memory for ``IngestConfiguration/tokenCacheTTL``
/// so a busy device does not cost a query per request; a revocation therefore takes
/// effect within that time.
public final class DeviceTokenStore: Sendable {
    /// The ingest service's schema.
    public static let migrations = MigrationSet(component: "ingest", migrations: [
        Migration(version: 1, name: "device tokens", statements: [
            "CREATE SCHEMA IF NOT EXISTS ingest",
            """
            CREATE TABLE ingest.device_tokens (
                token_hash bytea PRIMARY KEY,
                device_id text NOT NULL,
                label text,
                created_at timestamptz NOT NULL DEFAULT now(),
                revoked_at timestamptz
            )
            """,
            "CREATE INDEX device_tokens_device_id ON ingest.device_tokens (device_id)",
        ]),
    ])

    /// Prefix of every device token, so they are recognisable (and scannable).
    public static let tokenPrefix = "iomt_dev_"

    /// One stored token, without its secret.
    public struct Record: Sendable, Equatable {
        /// The device.
        public var deviceId: String
        /// First 8 hex digits of the token's hash, to tell tokens apart.
        public var fingerprint: String
        /// Free-text label given at creation.
        public var label: String?
        /// When it was created.
        public var createdAt: Date
        /// When it was revoked, if it was.
        public var revokedAt: Date?
    }

    private struct CacheEntry {
        var deviceId: String
        var expires: ContinuousClock.Instant
    }

    private let client: PostgresClient
    private let cacheTTL: Duration
    private let cache = Mutex<[Data: CacheEntry]>([:])
    private let logger: Logger
    private static let cacheLimit = 100_000

    /// Creates a store over a running PostgreSQL client.
    public init(client: PostgresClient, cacheTTL: Duration, logger: Logger) {
        self.client = client
        self.cacheTTL = cacheTTL
        self.logger = logger
    }

    /// Applies the store's migrations.
    public func migrate() async throws {
        try await Migrator.apply(Self.migrations, on: client, logger: logger)
    }

    /// Creates a token for a device and returns its plaintext. The plaintext is not
    /// stored: show it once.
    public func create(deviceId: String, label: String? = nil) async throws -> String {
        let token = Self.newToken()
        let hash = Self.hash(token)
        try await client.query(
            "INSERT INTO ingest.device_tokens (token_hash, device_id, label) VALUES (\(hash), \(deviceId), \(label))",
            logger: logger
        )
        return token
    }

    /// Creates a token for each of `deviceIds` in one statement (a fleet's worth
    /// for a simulation or a benchmark) and returns the plaintexts by device id.
    public func create(deviceIds: [String], label: String? = nil) async throws -> [String: String] {
        var tokens: [String: String] = [:]
        for device in deviceIds where tokens[device] == nil { tokens[device] = Self.newToken() }
        let devices = Array(tokens.keys)
        let hashes = devices.map { device in Self.hash(tokens[device]!).map { String(format: "%02x", $0) }.joined() }
        try await client.query("""
            INSERT INTO ingest.device_tokens (token_hash, device_id, label)
            SELECT decode(h, 'hex'), d, \(label) FROM unnest(\(hashes)::text[], \(devices)::text[]) AS t(h, d)
            """, logger: logger)
        return tokens
    }

    /// A new token: the prefix and 32 random bytes, base64url without padding.
    private static func newToken() -> String {
        var random = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        return tokenPrefix + Data(secret).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Revokes every active token of a device. Returns how many were revoked.
    public func revoke(deviceId: String) async throws -> Int {
        var count = 0
        for try await _ in try await client.query(
            "UPDATE ingest.device_tokens SET revoked_at = now() WHERE device_id = \(deviceId) AND revoked_at IS NULL RETURNING 1",
            logger: logger
        ) {
            count += 1
        }
        cache.withLock { cache in cache = cache.filter { $0.value.deviceId != deviceId } }
        return count
    }

    /// Revokes one token given in plaintext. Returns false when it was unknown or
    /// already revoked.
    public func revoke(token: String) async throws -> Bool {
        let hash = Self.hash(token)
        var revoked = false
        for try await _ in try await client.query(
            "UPDATE ingest.device_tokens SET revoked_at = now() WHERE token_hash = \(hash) AND revoked_at IS NULL RETURNING 1",
            logger: logger
        ) {
            revoked = true
        }
        _ = cache.withLock { $0.removeValue(forKey: hash) }
        return revoked
    }

    /// Lists tokens (without secrets), of one device or of all.
    public func list(deviceId: String? = nil) async throws -> [Record] {
        var records: [Record] = []
        let rows = try await client.query("""
            SELECT device_id, encode(token_hash, 'hex'), label, created_at, revoked_at FROM ingest.device_tokens
            WHERE \(deviceId) IS NULL OR device_id = \(deviceId) ORDER BY device_id, created_at
            """, logger: logger)
        for try await (device, hash, label, created, revoked) in rows.decode((String, String, String?, Date, Date?).self) {
            records.append(Record(deviceId: device, fingerprint: String(hash.prefix(8)), label: label, createdAt: created, revokedAt: revoked))
        }
        return records
    }

    /// The device a token belongs to, or nil when the token is unknown or revoked.
    public func authenticate(_ token: String) async throws -> String? {
        guard token.hasPrefix(Self.tokenPrefix), token.utf8.count <= 128 else { return nil }
        let hash = Self.hash(token)
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[hash] }), cached.expires > now {
            return cached.deviceId
        }
        var deviceId: String?
        for try await device in try await client.query(
            "SELECT device_id FROM ingest.device_tokens WHERE token_hash = \(hash) AND revoked_at IS NULL", logger: logger
        ).decode(String.self) {
            deviceId = device
        }
        if let deviceId, cacheTTL > .zero {
            cache.withLock { cache in
                if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
                cache[hash] = CacheEntry(deviceId: deviceId, expires: now + cacheTTL)
            }
        }
        return deviceId
    }

    static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }
}
