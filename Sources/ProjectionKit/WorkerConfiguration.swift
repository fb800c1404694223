import ServiceSupport

/// A projection worker's settings, with documented defaults (DESIGN §7).
public struct WorkerConfiguration: Sendable {
    /// Side port for `/health`, `/ready`, `/metrics`. `HTTP_HOST`/`HTTP_PORT`,
    /// default port 9090.
    public var http: HTTPSettings
    /// Kafka (`KAFKA_BROKERS`, `KAFKA_CONFIG_*`, `KAFKA_CONSUMER_CONFIG_*`, `KAFKA_PRODUCER_CONFIG_*`).
    public var kafka: KafkaSettings
    /// PostgreSQL (`DATABASE_URL`).
    public var database: DatabaseSettings
    /// Consumer group. `WORKER_GROUP_ID`, default `iomt.<projection>`.
    public var groupID: String?
    /// Most events per batch. `WORKER_BATCH_MAX_EVENTS`, default the projection's
    /// ``Projection/defaultBatchMaxEvents`` (10,000 unless it says otherwise): larger
    /// batches fold more events per key into one write (with 2,000 patients, a
    /// 10,000-event batch writes each about once per five events). A batch holds
    /// what was decoded while the previous one was applied, so batches reach this
    /// size only while the worker is behind. Memory grows with it: two batches of
    /// decoded events are in memory (one applied, one gathering), besides the
    /// prefetched messages.
    public var batchMaxEvents: Int = 10_000
    /// Longest wait to fill one consumer delivery (at most 1,000 messages).
    /// `WORKER_BATCH_MAX_WAIT_MS`, default 50: the bound on the delay a quiet
    /// stream adds to freshness.
    public var batchMaxWait: Duration = .milliseconds(50)
    /// Prefetch bound. `WORKER_PREFETCH_KB`, default the projection's
    /// ``Projection/defaultPrefetchKilobytes`` (4,096 unless it says otherwise).
    public var prefetchKilobytes: Int = 4096
    /// Consumer session timeout (how fast a dead worker's partitions move).
    /// `WORKER_SESSION_TIMEOUT_MS`, default 10,000.
    public var sessionTimeout: Duration = .seconds(10)
    /// Backoff for transient failures.
    public var retry = RetryPolicy()
    /// The query service's read-only role, granted SELECT on the projection's
    /// schema after every migration. `QUERY_DATABASE_ROLE`, default `iomt_query`.
    public var queryRole = ReadAccess.defaultRole

    /// Creates a configuration.
    public init(http: HTTPSettings, kafka: KafkaSettings, database: DatabaseSettings) {
        self.http = http
        self.kafka = kafka
        self.database = database
    }

    /// Reads every setting from the environment; `defaultPrefetchKilobytes`
    /// applies when `WORKER_PREFETCH_KB` is unset, `defaultBatchMaxEvents` when
    /// `WORKER_BATCH_MAX_EVENTS` is.
    public init(environment: ServiceEnvironment, defaultPrefetchKilobytes: Int = 4096, defaultBatchMaxEvents: Int = 10_000) throws(ConfigurationError) {
        self.init(
            http: try HTTPSettings(environment: environment, defaultPort: 9090),
            kafka: try KafkaSettings(environment: environment),
            database: try DatabaseSettings(environment: environment)
        )
        groupID = environment["WORKER_GROUP_ID"]
        batchMaxEvents = try environment.integer("WORKER_BATCH_MAX_EVENTS", default: defaultBatchMaxEvents, in: 1...100_000)
        batchMaxWait = .milliseconds(try environment.integer("WORKER_BATCH_MAX_WAIT_MS", default: 50, in: 1...60_000))
        prefetchKilobytes = try environment.integer("WORKER_PREFETCH_KB", default: defaultPrefetchKilobytes, in: 1024...2_097_151)
        sessionTimeout = .milliseconds(try environment.integer("WORKER_SESSION_TIMEOUT_MS", default: 10_000, in: 2000...300_000))
        queryRole = try ReadAccess.role(from: environment)
    }

    /// The consumer group of `projection`.
    public func group(for projection: some Projection) -> String {
        groupID ?? "iomt.\(projection.name)"
    }
}
