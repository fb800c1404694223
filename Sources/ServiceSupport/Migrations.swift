import Logging
import PostgresNIO

/// One versioned schema change: statements run in order, in one transaction.
public struct Migration: Sendable {
    /// Version, from 1, increasing by one.
    public var version: Int
    /// What it does, for the migrations table.
    public var name: String
    /// SQL statements, one statement each (the extended query protocol runs one
    /// statement per query).
    public var statements: [String]

    /// Creates a migration.
    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// The migrations of one component (a projection, the ingest service, …).
public struct MigrationSet: Sendable {
    /// Component name, the key in `iomt_runtime.migrations`.
    public var component: String
    /// Its migrations in version order.
    public var migrations: [Migration]

    /// Creates a set; versions must be 1, 2, 3, … in order.
    public init(component: String, migrations: [Migration]) {
        precondition(migrations.map(\.version) == Array(1...max(migrations.count, 1)).prefix(migrations.count).map { $0 },
                     "migration versions of \(component) must be 1, 2, 3, …")
        self.component = component
        self.migrations = migrations
    }
}

/// Applies migrations under a PostgreSQL advisory lock, so processes started
/// together (several workers, ingest and query) never race: one applies, the
/// others wait and find nothing left to do.
public enum Migrator {
    /// The key of the transaction-scoped advisory lock all migrations take.
    public static let lockKey: Int64 = 0x696F_6D74_6D69_67  // "iomtmig"

    /// Applies the migrations of `set` that are not applied yet. Returns the
    /// versions applied now.
    @discardableResult
    public static func apply(_ set: MigrationSet, on client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query("CREATE SCHEMA IF NOT EXISTS iomt_runtime", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS iomt_runtime.migrations (
                    component text NOT NULL,
                    version integer NOT NULL,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (component, version)
                )
                """, logger: logger)
            var current = 0
            for try await version in try await connection.query(
                "SELECT coalesce(max(version), 0) FROM iomt_runtime.migrations WHERE component = \(set.component)", logger: logger
            ).decode(Int.self) {
                current = version
            }
            var applied: [Int] = []
            for migration in set.migrations where migration.version > current {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO iomt_runtime.migrations (component, version, name) VALUES (\(set.component), \(migration.version), \(migration.name))",
                    logger: logger
                )
                logger.info("migration applied", metadata: ["component": "\(set.component)", "version": "\(migration.version)"])
                applied.append(migration.version)
            }
            return applied
        }
    }
}
