import Events
import Foundation
import Kafka
import Logging
import PatientState
import PostgresNIO
import ServiceSupport
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func quietLogger(_ label: String = "test") -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .error
    return logger
}

/// The folder holding the built executables (`IOMT_BIN` from ops/test.sh, else
/// the debug build folder).
var binFolder: URL {
    if let bin = ProcessInfo.processInfo.environment["IOMT_BIN"] { return URL(fileURLWithPath: bin) }
    return repositoryRoot.appendingPathComponent(".build/debug")
}

/// A private database on the test PostgreSQL server, dropped afterwards.
struct TestDatabase: Sendable {
    let settings: DatabaseSettings
    let url: String
    let name: String

    static func create(on server: String? = nil) async throws -> TestDatabase {
        let base = try server ?? #require(ProcessInfo.processInfo.environment["DATABASE_URL"], "DATABASE_URL is set by ops/test.sh")
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

    let server: String

    func drop() async {
        guard let admin = try? DatabaseSettings(url: server) else { return }
        _ = try? await PostgresClient.withClient(admin, logger: quietLogger()) { client in
            try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
        }
    }

    func withClient<T: Sendable>(_ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await PostgresClient.withClient(settings, logger: quietLogger(), body)
    }
}

/// A worker executable run as a child process, killable with SIGKILL.
final class WorkerProcess: @unchecked Sendable {
    // @unchecked: the process is started once and then only signalled.
    let process = Process()

    init(executable: String, environment: [String: String]) throws {
        process.executableURL = binFolder.appendingPathComponent(executable)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        // Worker logs go to a file, for reading when a test fails.
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("iomt-test-\(executable)-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        self.log = log
        try process.run()
    }

    /// Where the worker's output goes.
    let log: URL

    /// SIGKILL: no chance to finish anything.
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM: graceful shutdown.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { kill() }
}

/// A private Kafka (mock cluster with the contract's topics) and database.
struct WorkerEnvironment: Sendable {
    let broker: DevBroker
    let database: TestDatabase

    static func make(postgres server: String? = nil) async throws -> WorkerEnvironment {
        WorkerEnvironment(broker: try DevBroker(brokers: 1, logger: quietLogger()), database: try await TestDatabase.create(on: server))
    }

    func variables(extra: [String: String] = [:]) -> [String: String] {
        [
            "KAFKA_BROKERS": broker.bootstrapServers,
            "DATABASE_URL": database.url,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": "0",
            "LOG_LEVEL": ProcessInfo.processInfo.environment["IOMT_TEST_WORKER_LOG_LEVEL"] ?? "info",
            "LOG_FORMAT": "text",
            "WORKER_SESSION_TIMEOUT_MS": "6000",
            "WORKER_BATCH_MAX_EVENTS": "1000",
        ].merging(extra) { _, new in new }
    }

    func worker(_ executable: String = "iomt-patient-state", extra: [String: String] = [:]) throws -> WorkerProcess {
        try WorkerProcess(executable: executable, environment: variables(extra: extra))
    }

    func producer() throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(bootstrapServers: broker.bootstrapServers)
        configuration.linger = .milliseconds(2)
        return try KafkaProducer(configuration: configuration, logger: quietLogger())
    }

    /// Produces events in order; returns the log end per partition.
    @discardableResult
    func produce(_ events: [Event], with producer: KafkaProducer) async throws -> [KafkaTopicPartition: Int64] {
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
    func waitForCheckpoints(_ ends: [KafkaTopicPartition: Int64], projection: String = "patient-state", timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let positions = (try? await checkpoints(projection: projection)) ?? [:]
            if ends.allSatisfy({ positions[$0.key] ?? -1 >= $0.value }) { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        let positions = (try? await checkpoints(projection: projection)) ?? [:]
        Issue.record("checkpoints did not reach the log end: \(positions.count) partitions at \(positions.values.reduce(0, +)) of \(ends.values.reduce(0, +))")
        throw CancellationError()
    }

    func checkpoints(projection: String) async throws -> [KafkaTopicPartition: Int64] {
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

    func tearDown() async {
        broker.shutdown()
        await database.drop()
    }
}

/// A patient row as stored, for comparison with a reference fold.
struct StoredPatient: Equatable, CustomStringConvertible {
    var eventsApplied: Int
    var status: String
    var unit: String?
    var vitals: [String: Double]
    var news2Total: Int?
    var lastEventAt: Int64?

    var description: String { "applied=\(eventsApplied) status=\(status) unit=\(unit ?? "-") news2=\(news2Total ?? -1) vitals=\(vitals.sorted { $0.key < $1.key })" }

    init(_ record: PatientRecord) {
        eventsApplied = record.eventsApplied
        status = (record.status?.value ?? .unknown).rawValue
        unit = record.location?.value.unit
        vitals = record.vitals.mapValues(\.value.value)
        news2Total = record.news2.total
        lastEventAt = record.lastEventAt?.microseconds
    }

    init(eventsApplied: Int, status: String, unit: String?, vitals: [String: Double], news2Total: Int?, lastEventAt: Int64?) {
        self.eventsApplied = eventsApplied
        self.status = status
        self.unit = unit
        self.vitals = vitals
        self.news2Total = news2Total
        self.lastEventAt = lastEventAt
    }
}

func storedPatients(_ database: TestDatabase) async throws -> [String: StoredPatient] {
    try await database.withClient { client in
        var result: [String: StoredPatient] = [:]
        let rows = try await client.query("""
            SELECT patient_id, events_applied, status, unit, state::text, news2_total, (extract(epoch FROM last_event_at) * 1000000)::int8
            FROM patient_state.patients
            """)
        for try await (id, applied, status, unit, vitals, news2, last) in rows.decode((String, Int64, String, String?, String, Int?, Int64?).self) {
            var values: [String: Double] = [:]
            try JSONDocument().parse(Array(vitals.utf8)) { root in
                root["vitals"]?.forEachMember { code, reading in values[code.string!] = reading["value"]?.number }
            }
            result[id] = StoredPatient(eventsApplied: Int(applied), status: status, unit: unit, vitals: values, news2Total: news2, lastEventAt: last)
        }
        return result
    }
}

/// What a reference fold of `events` says the table must hold.
func expectedPatients(_ events: [Event]) -> [String: StoredPatient] {
    var fold = PatientStateFold()
    for event in events where PatientStateProjection().eventTypes.contains(event.type) { fold.apply(event) }
    return fold.patients.mapValues(StoredPatient.init)
}

/// Compares stored rows with the reference, recording at most a few differences.
func expectMatchesReference(_ stored: [String: StoredPatient], _ expected: [String: StoredPatient], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(stored.count == expected.count, "patients stored \(stored.count), expected \(expected.count)", sourceLocation: sourceLocation)
    var differences = 0
    for (id, want) in expected.sorted(by: { $0.key < $1.key }) where stored[id] != want {
        differences += 1
        if differences <= 5 {
            Issue.record("patient \(id): stored \(stored[id].map(String.init(describing:)) ?? "nothing"), expected \(want)", sourceLocation: sourceLocation)
        }
    }
    #expect(differences == 0, "\(differences) patients differ", sourceLocation: sourceLocation)
}
