import ServiceSupport

/// Everything the ingest service needs, with documented defaults. Built from the
/// environment in one place (``init(environment:)``); tests build it directly.
public struct IngestConfiguration: Sendable {
    /// Listen address. `HTTP_HOST`/`HTTP_PORT`, default port 8080.
    public var http: HTTPSettings
    /// Kafka brokers and pass-through properties (`KAFKA_BROKERS`, `KAFKA_CONFIG_*`, `KAFKA_CONSUMER_CONFIG_*`, `KAFKA_PRODUCER_CONFIG_*`).
    public var kafka: KafkaSettings
    /// PostgreSQL holding device tokens (`DATABASE_URL`).
    public var database: DatabaseSettings
    /// JWT verification for clinical systems (`JWT_HS256_SECRET` or `JWT_PUBLIC_KEY_FILE`).
    public var jwt: JWTSettings
    /// Largest request body. `INGEST_MAX_BODY_BYTES`, default 5 MiB.
    public var maxBodyBytes: Int = 5 * 1024 * 1024
    /// Most events per request. `INGEST_MAX_EVENTS`, default 5,000.
    public var maxEvents: Int = 5000
    /// Largest single event. `INGEST_MAX_EVENT_BYTES`, default 64 KiB.
    public var maxEventBytes: Int = 64 * 1024
    /// How long a request waits for Kafka's acknowledgements before answering 503.
    /// `INGEST_KAFKA_DEADLINE_MS`, default 10,000.
    public var kafkaDeadline: Duration = .seconds(10)
    /// `Retry-After` on 503. `INGEST_RETRY_AFTER_SECONDS`, default 5.
    public var retryAfterSeconds: Int = 5
    /// How long a verified device token is trusted without asking PostgreSQL again
    /// (a revocation takes effect within this time). `INGEST_TOKEN_CACHE_SECONDS`,
    /// default 10; 0 checks every request.
    public var tokenCacheTTL: Duration = .seconds(10)

    /// Creates a configuration.
    public init(http: HTTPSettings, kafka: KafkaSettings, database: DatabaseSettings, jwt: JWTSettings) {
        self.http = http
        self.kafka = kafka
        self.database = database
        self.jwt = jwt
    }

    /// Reads every setting from the environment.
    public init(environment: ServiceEnvironment) throws(ConfigurationError) {
        self.init(
            http: try HTTPSettings(environment: environment, defaultPort: 8080),
            kafka: try KafkaSettings(environment: environment),
            database: try DatabaseSettings(environment: environment),
            jwt: try JWTSettings(environment: environment)
        )
        maxBodyBytes = try environment.integer("INGEST_MAX_BODY_BYTES", default: maxBodyBytes, in: 1024...(256 * 1024 * 1024))
        maxEvents = try environment.integer("INGEST_MAX_EVENTS", default: maxEvents, in: 1...1_000_000)
        maxEventBytes = try environment.integer("INGEST_MAX_EVENT_BYTES", default: maxEventBytes, in: 256...(1024 * 1024))
        kafkaDeadline = .milliseconds(try environment.integer("INGEST_KAFKA_DEADLINE_MS", default: 10_000, in: 100...600_000))
        retryAfterSeconds = try environment.integer("INGEST_RETRY_AFTER_SECONDS", default: retryAfterSeconds, in: 1...3600)
        tokenCacheTTL = .seconds(try environment.integer("INGEST_TOKEN_CACHE_SECONDS", default: 10, in: 0...3600))
    }
}
