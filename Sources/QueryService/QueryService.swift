import Foundation
import CoreMetrics
import Hummingbird
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import ServiceSupport

/// The query service: the read API over the projections (DESIGN §6, "Query").
///
/// At start it applies its migrations with the migrating role (the read-only role,
/// the audit schema, grants), then serves every query as the read-only role.
/// Access: JWT bearer tokens with roles and facility scope (see
/// `schemas/openapi/query.yaml`); every response holding patient data is audited.
public enum QueryService {
    /// The parts of a running query service.
    public struct Parts: Sendable {
        /// The HTTP application; run it.
        public let application: any ApplicationProtocol
        /// The metrics registry.
        public let metrics: ServiceMetrics
    }

    /// Builds the service.
    public static func build(
        configuration: QueryConfiguration,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> Parts {
        // The read-only role must exist, with its password, before its pool connects.
        try await PostgresClient.withClient(configuration.database, logger: logger) { client in
            try await QueryDatabase.prepare(client: client, role: configuration.queryRole, password: configuration.queryPassword, logger: logger)
        }
        let client = PostgresClient(configuration: try configuration.queryDatabase.clientConfiguration(), backgroundLogger: logger)
        let verifier = try await AccessTokenVerifier(settings: configuration.jwt)
        let metadata = try KafkaConsumer(
            configuration: configuration.kafka.consumerConfiguration(clientID: "iomt-query", groupID: "iomt.query.metadata", topics: []),
            logger: logger
        )
        let metrics = ServiceMetrics()
        let audit = AuditTrail(client: client, logger: logger)
        let readsClient = PostgresClient(configuration: try AuditedPatientReads.clientConfiguration(configuration), backgroundLogger: logger)
        let patientReads = AuditedPatientReads(client: readsClient, maxInFlight: configuration.readBatchesInFlight, logger: logger)
        let handlers = QueryHandlers(client: client, audit: audit, patientReads: patientReads, logEnds: LogEnds(consumer: metadata), logger: logger)
        let stream = AlertStream(database: configuration.queryDatabase, logger: logger)
        let requests = metrics.counter("iomt_query_requests_total")
        let latency = metrics.timer("iomt_query_request_duration_seconds")
        let openAPI = (try? Data(contentsOf: URL(fileURLWithPath: configuration.openAPIFile))).map { [UInt8]($0) }

        let router = Router(context: QueryRequestContext.self)
        router.add(middleware: RequestMetricsMiddleware(requests: requests, latency: latency, logger: logger))
        router.addOperationalRoutes(metrics: metrics, readiness: [
            ReadinessCheck(name: "postgres") { await PostgresReadiness.check(client, logger: logger) },
            ReadinessCheck(name: "postgres-patient-reads") { await PostgresReadiness.check(readsClient, logger: logger) },
            ReadinessCheck(name: "alert-stream") { stream.listening.isSet ? nil : "not listening yet" },
        ])
        router.get("/openapi.yaml") { _, _ -> Response in
            guard let openAPI else { return ProblemDetails.notFound("the OpenAPI document is not installed (QUERY_OPENAPI_FILE)").response() }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: openAPI)))
        }
        let v1 = router.group("/v1").add(middleware: AuthenticationMiddleware(verifier: verifier))
        v1.get("/patients", use: handlers.listPatients)
        v1.get("/patients/:patientId", use: handlers.getPatient)
        v1.get("/patients/:patientId/alerts", use: handlers.listPatientAlerts)
        v1.get("/devices", use: handlers.listDevices)
        v1.get("/devices/:deviceId", use: handlers.getDevice)
        v1.get("/alerts/stream") { request, context in try await stream.response(request: request, context: context, client: client, audit: audit) }
        v1.get("/alerts", use: handlers.listAlerts)
        v1.get("/alerts/:alertId", use: handlers.getAlert)
        v1.get("/projections", use: handlers.projections)
        v1.get("/stats", use: handlers.stats)

        var application = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "iomt-query"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.http.port) },
            logger: logger
        )
        application.addServices(client, readsClient, stream, metadata)
        return Parts(application: application, metrics: metrics)
    }
}

/// Counts requests, times them, and turns database failures into 503 problems
/// (never a stack trace or SQL in a response).
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = QueryRequestContext
    let requests: CoreMetrics.Counter
    let latency: CoreMetrics.Timer
    let logger: Logger

    func handle(_ request: Request, context: QueryRequestContext, next: (Request, QueryRequestContext) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        defer {
            requests.increment()
            latency.record(duration: ContinuousClock.now - started)
        }
        // Every resource of this service is read-only: another method on any path is
        // answered 405 with the methods that are allowed, rather than a misleading 404.
        guard request.method == .get else {
            return ProblemDetails(status: .methodNotAllowed, detail: "this service only answers GET", headers: [.allow: "GET"]).response()
        }
        do {
            return try await next(request, context)
        } catch let problem as ProblemDetails {
            return problem.response()
        } catch let error as PSQLError {
            logger.debug("query failed", metadata: ["error": "\(String(reflecting: error))"])
            return ProblemDetails.unavailable("the data is not available right now", retryAfterSeconds: 5).response()
        }
    }
}
