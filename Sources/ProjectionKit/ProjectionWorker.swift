import Events
import Foundation
import Hummingbird
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import ServiceSupport
import Synchronization

/// The entry point of a worker executable: hand it a projection and it runs the
/// runtime with a side HTTP port (`/health`, `/ready`, `/metrics`), or rebuilds
/// the projection.
///
/// ```swift
/// @main enum Main {
///     static func main() async { await ProjectionWorker.main(PatientStateProjection()) }
/// }
/// ```
///
/// Commands: no argument (or `run`) runs the worker until SIGTERM/SIGINT;
/// `rebuild` drops the projection's schema and checkpoints, replays from the
/// earliest retained offsets with progress on standard error, and exits when it
/// has caught up with the log end seen at start. Stop the running workers of the
/// projection before a rebuild.
public enum ProjectionWorker {
    /// Runs the command named by the process arguments; exits the process with a
    /// non-zero status on failure.
    public static func main(_ projection: some Projection) async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let environment = ServiceEnvironment.process
        AllocatorTuning.apply(environment: environment)
        do {
            try LoggingSetup.bootstrap(from: environment)
            let configuration = try WorkerConfiguration(
                environment: environment, defaultPrefetchKilobytes: projection.defaultPrefetchKilobytes, defaultBatchMaxEvents: projection.defaultBatchMaxEvents
            )
            let logger = Logger(label: "iomt.\(projection.name)")
            switch arguments.first {
            case nil, "run":
                try await run(projection, configuration: configuration, logger: logger)
            case "rebuild":
                try await rebuild(projection, configuration: configuration, logger: logger)
            case "-h", "--help", "help":
                print("usage: iomt-\(projection.name) [run | rebuild]\nConfiguration: environment variables, see the README.")
            default:
                throw ConfigurationError(setting: "arguments", problem: "unknown command \(arguments[0]); use run or rebuild")
            }
        } catch {
            FileHandle.standardError.write(Data("iomt-\(projection.name): \(error)\n".utf8))
            exit(1)
        }
    }

    /// Builds the worker: the runtime and its side HTTP port, as one application
    /// that also runs the PostgreSQL client. Run it with `runService()`.
    public static func application(
        _ projection: some Projection,
        configuration: WorkerConfiguration,
        logger: Logger,
        clock: @escaping @Sendable () -> EventTime = { EventTime(Date()) }
    ) throws -> (application: any ApplicationProtocol, runtime: ProjectionRuntime) {
        let postgres = PostgresClient(configuration: try configuration.database.clientConfiguration(), backgroundLogger: logger)
        let metrics = ServiceMetrics()
        let runtime = ProjectionRuntime(projection: projection, configuration: configuration, postgres: postgres, metrics: metrics, logger: logger, clock: clock)
        let router = Router()
        router.addOperationalRoutes(metrics: metrics, readiness: [
            ReadinessCheck(name: "postgres") { await PostgresReadiness.check(postgres, logger: logger) },
            ReadinessCheck(name: "consumer") { runtime.started.isSet ? nil : "starting" },
        ])
        var application = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.http.host, port: configuration.http.port), serverName: "iomt-\(projection.name)"),
            logger: logger
        )
        application.addServices(postgres, runtime)
        application.addServices(try projection.services(configuration: configuration, postgres: postgres, logger: logger))
        return (application, runtime)
    }

    static func run(_ projection: some Projection, configuration: WorkerConfiguration, logger: Logger) async throws {
        try await application(projection, configuration: configuration, logger: logger).application.runService()
    }

    /// Drops the projection and replays it from the earliest retained offsets.
    public static func rebuild(_ projection: some Projection, configuration: WorkerConfiguration, logger: Logger) async throws {
        var configuration = configuration
        configuration.groupID = configuration.group(for: projection) + ".rebuild"
        let postgres = PostgresClient(configuration: try configuration.database.clientConfiguration(), backgroundLogger: logger)
        let targets = try await logEnds(of: projection, configuration: configuration, logger: logger)
        let total = targets.values.reduce(0) { $0 + max(0, $1.high - $1.low) }
        FileHandle.standardError.write(Data("rebuild \(projection.name): \(total) records retained across \(targets.count) partitions\n".utf8))
        let reporter = ProgressReporter(total: total, targets: targets, name: projection.name)
        let runtime = ProjectionRuntime(
            projection: projection, configuration: configuration, postgres: postgres, metrics: ServiceMetrics(), logger: logger,
            onProgress: { progress in reporter.report(progress) }
        )
        try await PostgresClient.withClient(configuration.database, logger: logger) { client in
            try await drop(projection, client: client, logger: logger)
        }
        if total == 0 {
            // Nothing to replay: create the empty schema and stop.
            try await PostgresClient.withClient(configuration.database, logger: logger) { client in
                for set in ProjectionRuntime.migrations(for: projection) { try await Migrator.apply(set, on: client, logger: logger) }
            }
            reporter.finish()
            return
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await postgres.run() }
            try await runtime.run()
            group.cancelAll()
        }
        reporter.finish()
    }

    /// Drops the projection's schema, checkpoints and migration records, under the
    /// migration lock.
    static func drop(_ projection: some Projection, client: PostgresClient, logger: Logger) async throws {
        for set in ProjectionRuntime.migrations(for: projection).prefix(1) {
            try await Migrator.apply(set, on: client, logger: logger)
        }
        try await client.withTransaction(logger: logger) { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(Migrator.lockKey))", logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(projection.schema) CASCADE"), logger: logger)
            try await connection.query("DELETE FROM iomt_runtime.migrations WHERE component = \(projection.name)", logger: logger)
            try await Checkpoints.reset(projection: projection.name, connection: connection, logger: logger)
        }
    }

    /// The low and high watermarks of every partition of the projection's topics.
    static func logEnds(of projection: some Projection, configuration: WorkerConfiguration, logger: Logger) async throws -> [KafkaTopicPartition: KafkaWatermarks] {
        // A consumer outside any real group, used only for metadata queries.
        let consumer = try KafkaConsumer(
            configuration: configuration.kafka.consumerConfiguration(clientID: "iomt-\(projection.name)-rebuild", groupID: "iomt.metadata.\(UUID().uuidString)", topics: []),
            logger: logger
        )
        defer { Task { await consumer.close() } }
        var result: [KafkaTopicPartition: KafkaWatermarks] = [:]
        for topic in projection.topics {
            for partition in try await consumer.partitions(of: topic.name) {
                result[partition] = try await consumer.watermarks(for: partition)
            }
        }
        return result
    }
}

/// Prints rebuild progress at most once a second and says when the replay has
/// reached the log end seen at start.
final class ProgressReporter: Sendable {
    private struct State {
        var lastPrint = ContinuousClock.now
        var started = ContinuousClock.now
        var applied = 0
        var done = 0
    }

    let total: Int64
    let targets: [KafkaTopicPartition: KafkaWatermarks]
    let name: String
    private let state = Mutex(State())

    init(total: Int64, targets: [KafkaTopicPartition: KafkaWatermarks], name: String) {
        self.total = total
        self.targets = targets
        self.name = name
    }

    /// Returns true once every partition reached its target.
    func report(_ progress: ProjectionRuntime.Progress) -> Bool {
        var remaining: Int64 = 0
        for (partition, marks) in targets {
            let position = progress.positions[partition] ?? marks.low
            remaining += max(0, marks.high - position)
        }
        let caughtUp = remaining == 0 && targets.keys.allSatisfy { progress.positions[$0] != nil || targets[$0]!.high == targets[$0]!.low }
        let line: String? = state.withLock { state in
            state.applied = progress.applied
            state.done = Int(total - remaining)
            guard caughtUp || ContinuousClock.now - state.lastPrint >= .seconds(1) else { return nil }
            state.lastPrint = .now
            let percent = total == 0 ? 100 : Double(state.done) * 100 / Double(total)
            return String(format: "rebuild %@: %lld of %lld records (%.1f%%), %d events applied\n", name, Int64(state.done), total, percent, progress.applied)
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
        return caughtUp
    }

    func finish() {
        let (applied, seconds) = state.withLock { ($0.applied, (ContinuousClock.now - $0.started)) }
        FileHandle.standardError.write(Data("rebuild \(name): done, \(applied) events applied in \(seconds)\n".utf8))
    }
}
