import Logging
import PostgresNIO
import ServiceSupport

/// The query service's own schema work, done at start with the migrating role:
/// the read-only role, its password, the audit schema, and read grants.
enum QueryDatabase {
    /// The audit schema and the read-only role (created without login rights
    /// until the service sets its password).
    static func migrations(role: String) -> MigrationSet {
        MigrationSet(component: "query", migrations: [
            Migration(version: 1, name: "read-only role and audit", statements: [
                """
                DO $$ BEGIN
                    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(role)') THEN
                        CREATE ROLE \(role) LOGIN NOINHERIT;
                    END IF;
                END $$
                """,
                "CREATE SCHEMA IF NOT EXISTS audit",
                """
                CREATE TABLE audit.reads (
                    id bigserial PRIMARY KEY,
                    at timestamptz NOT NULL DEFAULT now(),
                    subject text NOT NULL,
                    roles text[] NOT NULL,
                    action text NOT NULL,
                    resource text NOT NULL,
                    patient_ids text[] NOT NULL,
                    outcome text NOT NULL,
                    client_address text,
                    break_glass boolean NOT NULL DEFAULT false
                )
                """,
                "CREATE INDEX reads_at ON audit.reads (at)",
                "REVOKE ALL ON SCHEMA audit FROM PUBLIC",
                "GRANT USAGE ON SCHEMA audit TO \(role)",
                "REVOKE ALL ON audit.reads FROM \(role)",
                "GRANT INSERT ON audit.reads TO \(role)",
                "GRANT USAGE ON SEQUENCE audit.reads_id_seq TO \(role)",
            ]),
        ])
    }

    /// Applies the migrations, sets the role's password and grants read access to
    /// the projections that exist.
    static func prepare(client: PostgresClient, role: String, password: String, logger: Logger) async throws {
        try await Migrator.apply(migrations(role: role), on: client, logger: logger)
        let literal = "'" + password.replacingOccurrences(of: "'", with: "''") + "'"
        try await client.query(PostgresQuery(unsafeSQL: "ALTER ROLE \(role) LOGIN PASSWORD \(literal)"), logger: logger)
        for schema in ["patient_state", "asset_inventory", "alerts", "iomt_runtime"] {
            try await ReadAccess.grant(schema: schema, to: role, client: client, logger: logger)
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
