import ServiceSupport

/// The query service's settings, with documented defaults.
public struct QueryConfiguration: Sendable {
    /// Listen address. `HTTP_HOST`/`HTTP_PORT`, default port 8081.
    public var http: HTTPSettings
    /// The migrating role (`DATABASE_URL`): creates the read-only role and the
    /// audit schema at start. Queries never use it.
    public var database: DatabaseSettings
    /// The read-only role's name. `QUERY_DATABASE_ROLE`, default `iomt_query`.
    public var queryRole = ReadAccess.defaultRole
    /// The read-only role's password. `QUERY_DATABASE_PASSWORD`, required (no
    /// default): set on the role at start.
    public var queryPassword: String
    /// Kafka, for the log ends behind `/v1/projections` (`KAFKA_BROKERS`).
    public var kafka: KafkaSettings
    /// JWT verification (`JWT_HS256_SECRET` or `JWT_PUBLIC_KEY_FILE`).
    public var jwt: JWTSettings
    /// The OpenAPI document served at `/openapi.yaml`. `QUERY_OPENAPI_FILE`,
    /// default `schemas/openapi/query.yaml` (relative to the working directory).
    public var openAPIFile = "schemas/openapi/query.yaml"
    /// Most patient-read statements running at once (`QUERY_READ_BATCHES`,
    /// default 1): reads that arrive while the limit is reached wait and go
    /// together in the next statement, with one commit for their audit rows.
    /// It is also the size of the reads' own connection pool. `iomt bench query`
    /// measured 1 and 2 alike on a two-core host.
    public var readBatchesInFlight = 1

    /// Creates a configuration.
    public init(http: HTTPSettings, database: DatabaseSettings, queryPassword: String, kafka: KafkaSettings, jwt: JWTSettings) {
        self.http = http
        self.database = database
        self.queryPassword = queryPassword
        self.kafka = kafka
        self.jwt = jwt
    }

    /// Reads every setting from the environment.
    public init(environment: ServiceEnvironment) throws(ConfigurationError) {
        self.init(
            http: try HTTPSettings(environment: environment, defaultPort: 8081),
            database: try DatabaseSettings(environment: environment),
            queryPassword: try environment.required("QUERY_DATABASE_PASSWORD"),
            kafka: try KafkaSettings(environment: environment),
            jwt: try JWTSettings(environment: environment)
        )
        queryRole = try ReadAccess.role(from: environment)
        if let file = environment["QUERY_OPENAPI_FILE"] { openAPIFile = file }
        readBatchesInFlight = try environment.integer("QUERY_READ_BATCHES", default: 1, in: 1...1000)
    }

    /// The read-only role's connection settings.
    public var queryDatabase: DatabaseSettings { database.with(username: queryRole, password: queryPassword) }
}
