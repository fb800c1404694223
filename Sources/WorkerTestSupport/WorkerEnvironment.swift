import Events
import Foundation
import Synchronization
import Kafka
import Logging
import PostgresNIO
import ServiceSupport

/// The repository root, found from this file's path.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A logger that only reports errors.
public func quietLogger(_ label: String = "test") -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .error
    return logger
}

/// The folder holding the built executables (`IOMT_BIN` from ops/test.sh, else
/// the debug build folder).
public var binFolder: URL {
    if let bin = ProcessInfo.processInfo.environment["IOMT_BIN"] { return URL(fileURLWithPath: bin) }
    return repositoryRoot.appendingPathComponent(".build/debug")
}

/// A private database on the test PostgreSQL server, dropped afterwards.
public struct TestDatabase: Sendable {
    /// Connection settings of the database.
    public let settings: DatabaseSettings
    /// The database URL.
    public let url: String
    /// The database name.
    public let name: String

    /// Creates a database on `server` (default `DATABASE_URL`'s server).
    public static func create(on server: String? = nil) async throws -> TestDatabase {
        guard let base = server ?? ProcessInfo.processInfo.environment["DATABASE_URL"] else {
            throw HarnessError("DATABASE_URL is not set (ops/test.sh sets it)")
        }
        let admin = try DatabaseSettings(url: base)
        let name = "iomt_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        _ = try await PostgresClient.withClient(admin, logger: quietLogger()) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        var components = URLComponents(string: base)!
        components.path = "/" + name
        let url = components.string!
        return TestDatabase(settings: try DatabaseSettings(url: url), url: url, name: name, server: base)
    }

    /// The server's URL (for dropping the database).
    public let server: String

    /// Drops the database.
    public func drop() async {
        guard let admin = try? DatabaseSettings(url: server) else { return }
        _ = try? await PostgresClient.withClient(admin, logger: quietLogger()) { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
        }
    }

    /// Runs `body` with a client of the database.
    public func withClient<T: Sendable>(_ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await PostgresClient.withClient(settings, logger: quietLogger(), body)
    }
}

/// An executable of the package (a worker, a service, `iomt`) run as a child
/// process, stoppable with SIGTERM, SIGINT or SIGKILL.
public final class WorkerProcess: @unchecked Sendable {
    // @unchecked: the process is started once and then only signalled.
    /// The process.
    public let process = Process()

    /// Starts `executable` from ``binFolder`` with `arguments` and `environment`
    /// added to ours; output goes to `log` (default: a new temporary file).
    public init(executable: String, arguments: [String] = [], environment: [String: String], log: URL? = nil) throws {
        process.executableURL = binFolder.appendingPathComponent(executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        // Output goes to a file, for reading when a test fails.
        let log = log ?? FileManager.default.temporaryDirectory.appendingPathComponent("iomt-test-\(executable)-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        self.log = log
        try process.run()
        LiveChildren.add(process.processIdentifier)
    }

    /// Waits for the process to exit; returns its status.
    public func wait() async -> Int32 {
        while process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        LiveChildren.remove(process.processIdentifier)
        return process.terminationStatus
    }

    /// The last 3,000 characters of the output.
    public func output() -> String { Self.output(of: log) }

    /// The last 3,000 characters of a process's output file.
    public static func output(of log: URL) -> String {
        String((try? String(contentsOf: log, encoding: .utf8))?.suffix(3000) ?? "")
    }

    /// SIGINT (Ctrl-C), then waits.
    public func interrupt() {
        LiveChildren.remove(process.processIdentifier)
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
    }

    /// Where the worker's output goes.
    public let log: URL

    /// SIGKILL: no chance to finish anything.
    public func kill() {
        LiveChildren.remove(process.processIdentifier)
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM: graceful shutdown.
    public func stop() {
        LiveChildren.remove(process.processIdentifier)
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { kill() }
}

/// Child processes still running; killed when the test process exits, so a
/// suite-wide stack (never deinitialised) leaves no orphans behind.
public enum LiveChildren {
    private static let pids = Mutex<Set<Int32>?>(nil)

    /// Tracks `pid` until it is removed or the process exits.
    public static func add(_ pid: Int32) {
        pids.withLock { set in
            if set == nil {
                set = []
                atexit {
                    for pid in LiveChildren.pids.withLock({ $0 ?? [] }) { Foundation.kill(pid, SIGKILL) }
                }
            }
            set!.insert(pid)
        }
    }

    /// Stops tracking `pid`.
    public static func remove(_ pid: Int32) {
        _ = pids.withLock { $0?.remove(pid) }
    }
}

/// The output files of an environment's workers.
private final class WorkerLogs: Sendable {
    let files = Mutex<[URL]>([])
}

/// A private Kafka (mock cluster with the contract's topics) and database.
public struct WorkerEnvironment: Sendable {
    /// The mock cluster with the contract's topics.
    public let broker: DevBroker
    /// The private database.
    public let database: TestDatabase
    /// The output files of the workers started with ``worker(_:extra:)``, quoted
    /// when ``waitForCheckpoints(_:projection:timeout:)`` gives up.
    private let workerLogs = WorkerLogs()

    /// An environment over an existing broker and database.
    public init(broker: DevBroker, database: TestDatabase) {
        self.broker = broker
        self.database = database
    }

    /// Starts a broker and creates a database (on `server`, default `DATABASE_URL`).
    public static func make(postgres server: String? = nil) async throws -> WorkerEnvironment {
        WorkerEnvironment(broker: try DevBroker(brokers: 1, logger: quietLogger()), database: try await TestDatabase.create(on: server))
    }

    /// Environment variables pointing a worker at this environment, with the dev
    /// broker's consumer settings (``DevBroker/consumerEnvironment(over:)``).
    public func variables(extra: [String: String] = [:]) -> [String: String] {
        [
            "KAFKA_BROKERS": broker.bootstrapServers,
            "DATABASE_URL": database.url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "0",
            "LOG_LEVEL": ProcessInfo.processInfo.environment["IOMT_TEST_WORKER_LOG_LEVEL"] ?? "info",
            "LOG_FORMAT": "text",
            "WORKER_SESSION_TIMEOUT_MS": "6000",
            "WORKER_BATCH_MAX_EVENTS": "1000",
        ].merging(DevBroker.consumerEnvironment(over: extra)) { current, _ in current }.merging(extra) { _, new in new }
    }

    /// Starts a worker executable against this environment.
    public func worker(_ executable: String = "iomt-patient-state", extra: [String: String] = [:]) throws -> WorkerProcess {
        let worker = try WorkerProcess(executable: executable, environment: variables(extra: extra))
        workerLogs.files.withLock { $0.append(worker.log) }
        return worker
    }

    /// A producer for the broker.
    public func producer() throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(bootstrapServers: broker.bootstrapServers)
        configuration.linger = .milliseconds(2)
        return try KafkaProducer(configuration: configuration, logger: quietLogger())
    }

    /// Produces events in order; returns the log end per partition.
    @discardableResult
    public func produce(_ events: [Event], with producer: KafkaProducer) async throws -> [KafkaTopicPartition: Int64] {
        let records = events.map { event in
            KafkaProducerRecord(topic: event.type.topic.name, key: EventRecord.key(for: event), value: EventRecord.value(for: event), headers: EventRecord.headers(for: event, as: KafkaHeader.self))
        }
        var ends: [KafkaTopicPartition: Int64] = [:]
        for result in await producer.send(records) {
            let report = try result.get()
            let partition = KafkaTopicPartition(topic: report.topic, partition: report.partition)
            ends[partition] = max(ends[partition] ?? 0, report.offset + 1)
        }
        return ends
    }

    /// Waits until the projection's checkpoints reach `ends`.
    public func waitForCheckpoints(_ ends: [KafkaTopicPartition: Int64], projection: String = "patient-state", timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let positions = (try? await checkpoints(projection: projection)) ?? [:]
            if ends.allSatisfy({ positions[$0.key] ?? -1 >= $0.value }) { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        let positions = (try? await checkpoints(projection: projection)) ?? [:]
        let behind = ends.filter { positions[$0.key] ?? -1 < $0.value }.keys.map { "\($0.topic)[\($0.partition)] at \(positions[$0] ?? -1) of \(ends[$0]!)" }.sorted()
        let logs = workerLogs.files.withLock { $0 }.map { log in
            "--- \(log.lastPathComponent), last lines:\n" + WorkerProcess.output(of: log)
        }
        throw HarnessError((["checkpoints did not reach the log end: \(positions.count) partitions at \(positions.values.reduce(0, +)) of \(ends.values.reduce(0, +)); behind: \(behind.joined(separator: ", "))"] + logs).joined(separator: "\n"))
    }

    /// The checkpoints of a projection.
    public func checkpoints(projection: String) async throws -> [KafkaTopicPartition: Int64] {
        try await database.withClient { client in
            var result: [KafkaTopicPartition: Int64] = [:]
            for try await (topic, partition, offset) in try await client.query(
                "SELECT topic, partition, next_offset FROM iomt_runtime.checkpoints WHERE projection = \(projection)"
            ).decode((String, Int, Int64).self) {
                result[KafkaTopicPartition(topic: topic, partition: Int32(partition))] = offset
            }
            return result
        }
    }

    /// Stops the broker and drops the database.
    public func tearDown() async {
        broker.shutdown()
        await database.drop()
    }
}


/// A failure of the test harness, with what went wrong.
public struct HarnessError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String

    /// Creates an error.
    public init(_ description: String) {
        self.description = description
    }
}
