import Logging
import PostgresNIO

/// Read access of the query service's PostgreSQL role to the projections.
///
/// The role is created by the query service's migrations; projections grant it
/// SELECT on their schema after every migration (a rebuild drops and recreates a
/// schema, and with it the grants), and the query service grants it again at
/// start, so the order in which services start does not matter.
public enum ReadAccess {
    /// The read-only role's default name (`QUERY_DATABASE_ROLE`).
    public static let defaultRole = "iomt_query"

    /// The role from `QUERY_DATABASE_ROLE` (default ``defaultRole``): ASCII
    /// letters, digits and underscores, starting with a letter, at most 63 bytes.
    /// Read by the query service (which creates the role) and by the workers
    /// (which grant it read access after their migrations).
    public static func role(from environment: ServiceEnvironment) throws(ConfigurationError) -> String {
        guard let role = environment["QUERY_DATABASE_ROLE"] else { return defaultRole }
        guard role.utf8.count <= 63, role.first?.isLetter == true,
              role.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw ConfigurationError(setting: "QUERY_DATABASE_ROLE", problem: "must be ASCII letters, digits and underscores, starting with a letter, at most 63 bytes")
        }
        return role
    }

    /// Grants `role` USAGE on `schema` and SELECT on its tables, when both exist.
    public static func grant(schema: String, to role: String = defaultRole, client: PostgresClient, logger: Logger) async throws {
        try await client.query(PostgresQuery(unsafeSQL: """
            DO $$
            BEGIN
                IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '\(role)')
                   AND EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '\(schema)') THEN
                    EXECUTE 'GRANT USAGE ON SCHEMA \(schema) TO \(role)';
                    EXECUTE 'GRANT SELECT ON ALL TABLES IN SCHEMA \(schema) TO \(role)';
                END IF;
            END $$
            """), logger: logger)
    }
}
