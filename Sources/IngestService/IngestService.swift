import Hummingbird
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import ServiceSupport

/// The ingest service: HTTP in, Kafka out (DESIGN §6, "Ingest").
///
/// `build` wires the PostgreSQL client (device tokens), the idempotent producer and
/// the HTTP application; run the returned application as a `Service` (it runs the
/// client and producer as its own services and shuts them down after the server).
public enum IngestService {
    /// The parts of a running ingest service.
    public struct Parts: Sendable {
        /// The HTTP application; run it (`runService()` or in a `ServiceGroup`).
        public let application: any ApplicationProtocol
        /// Device-token administration over the same database.
        public let deviceTokens: DeviceTokenStore
        /// The metrics registry.
        public let metrics: ServiceMetrics
    }

    /// Builds the service. Migrations run when the application starts.
    public static func build(
        configuration: IngestConfiguration,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> Parts {
        let postgres = PostgresClient(configuration: try configuration.database.clientConfiguration(), backgroundLogger: logger)
        var producerConfiguration = configuration.kafka.producerConfiguration(clientID: "iomt-ingest")
        // Records the service has not heard back about by the request deadline are
        // reported not-stored; let librdkafka give up on them shortly after.
        producerConfiguration.deliveryTimeout = configuration.kafkaDeadline + .seconds(5)
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        let deviceTokens = DeviceTokenStore(client: postgres, cacheTTL: configuration.tokenCacheTTL, logger: logger)
        let accessTokens = try await AccessTokenVerifier(settings: configuration.jwt)
        let metrics = ServiceMetrics()
        let migrated = OnceFlag()
        let ingestor = EventIngestor(
            configuration: configuration,
            authenticator: IngestAuthenticator(deviceTokens: deviceTokens, accessTokens: accessTokens),
            producer: producer,
            metrics: IngestMetrics(metrics: metrics),
            logger: logger
        )

        let router = Router()
        router.post("/v1/events") { request, _ in try await ingestor.handle(request) }
        router.addOperationalRoutes(metrics: metrics, readiness: [
            ReadinessCheck(name: "kafka") {
                do {
                    try await producer.checkConnectivity(timeout: .seconds(2))
                    return nil
                } catch {
                    return "unreachable"
                }
            },
            ReadinessCheck(name: "postgres") {
                await PostgresReadiness.check(postgres, logger: logger)
            },
            ReadinessCheck(name: "migrations") {
                migrated.isSet ? nil : "not applied yet"
            },
        ])
        var application = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "iomt-ingest"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.http.port) },
            logger: logger
        )
        application.addServices(
            postgres,
            MigrationService(client: postgres, sets: [DeviceTokenStore.migrations], logger: logger) { migrated.set() },
            producer
        )
        return Parts(application: application, deviceTokens: deviceTokens, metrics: metrics)
    }
}
