import ArgumentParser
import Events
import Foundation
import Kafka
import Alerts
import AssetInventory
import Logging
import PatientState
import PostgresNIO
import ProjectionKit
import ServiceSupport
import Simulator

/// `iomt bench projection`: a worker's catch-up rate against a consume-and-decode
/// pass and a naive per-event projector, on the same preloaded events.
struct ProjectionBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projection",
        abstract: "Projection catch-up rate vs consume+decode and a naive per-event projector.",
        discussion: """
        Starts a dev broker (child process; the device-events topic gets --partitions \
        partitions so the preloaded events fit its retention), preloads the events, \
        and measures, on the same log: consume + decode only (the limit); the worker \
        executable catching up from an empty database (its own process; rate from its \
        first applied batch, and its peak RSS); and a naive projector applying \
        --naive-events events each in its own transaction. For a projection that prepares \
        batches ahead (alerts), a last pass times that preparation alone on one task, \
        batch by batch, after the first two batches were applied. Both consuming passes use the \
        dev broker's consumer settings (a 10 ms fetch wait, as `iomt dev` gives its \
        workers). --workload picks the events: stress (the default, uniformly random \
        vitals) or ward (the fleet simulator). PostgreSQL from DATABASE_URL \
        or --database-url; the bench uses fresh databases on that server.
        """
    )

    @Option(help: "Projection to measure: patient-state, asset-inventory or alerts.")
    var projection: String = "patient-state"

    @Option(help: "Events to preload.")
    var events: Int = 250_000

    @Option(help: "Patients in the workload.")
    var patients: Int = 2000

    @Option(help: "Devices in the workload.")
    var devices: Int = 5000

    @Option(help: """
    Events to replay: stress (uniformly random vitals: the alerts worker writes about \
    0.4 alert changes per event; the default) or ward (the fleet simulator: vitals around each \
    patient's baseline, deteriorations, alarms, silent devices; --devices does not apply).
    """)
    var workload: ProjectionWorkload = .stress

    @Option(help: "Partitions of iomt.device-events.v1 on the bench broker.")
    var partitions: Int = 24

    @Option(help: "Events the naive projector applies (it is slow).")
    var naiveEvents: Int = 3000

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard events > 0 else { throw ValidationError("--events must be at least 1") }
        guard patients > 0 else { throw ValidationError("--patients must be at least 1") }
        guard devices > 0 else { throw ValidationError("--devices must be at least 1") }
        guard partitions > 0 else { throw ValidationError("--partitions must be at least 1") }
        guard naiveEvents > 0 else { throw ValidationError("--naive-events must be at least 1") }
    }

    func run() async throws {
        try logging.bootstrap()
        let logger = Logger(label: "iomt.bench.projection")
        let plugin = try Self.projection(named: projection)
        let broker = try ChildBroker(topics: ["\(EventTopic.deviceEvents.name):\(partitions)"])
        defer { broker.stop() }
        let (stream, fleetDevices) = workload.events(events, patients: patients, devices: devices)
        print("iomt bench projection --projection \(projection) --workload \(workload.rawValue): \(stream.count) events, \(patients) patients, \(fleetDevices) devices")
        let topics = Set(plugin.topics.map(\.name))
        let ends = try await preload(stream, bootstrap: broker.bootstrapServers, logger: logger).filter { topics.contains($0.key.topic) }
        let total = ends.values.reduce(0, +)
        print("preloaded \(stream.count) events, \(total) on the projection's topics")

        let (decodeRate, decodeCPU) = try await consumeAndDecode(bootstrap: broker.bootstrapServers, topics: plugin.topics, expected: Int(total), logger: logger)
        let worker = try await workerCatchUp(plugin, bootstrap: broker.bootstrapServers, ends: ends, logger: logger)
        let naive = try await naiveProjector(
            plugin, events: Array(stream.lazy.filter { plugin.eventTypes.contains($0.type) }.prefix(naiveEvents).map(ProjectedEvent.init(standalone:))), logger: logger
        )
        let prepared = try await preparePass(named: projection, events: stream, logger: logger)

        print("")
        print(row("pass", "events/s", "ratio"))
        print(row("decode", format(decodeRate), "1.00"))
        print(row("worker", format(worker.rate), String(format: "%.2f", worker.rate / decodeRate)))
        print(row("naive", format(naive), String(format: "%.3f", naive / decodeRate)))
        if let prepared {
            print(row("prepare", format(prepared.rate), String(format: "%.2f", prepared.rate / decodeRate)))
        }
        print("")
        print("worker: \(String(format: "%.1f", worker.seconds)) s from first batch to caught up (\(String(format: "%.1f", worker.totalSeconds)) s from start, incl. group join); peak RSS \(worker.peakRSSMegabytes) MB")
        print("worker / naive = \(String(format: "%.1f", worker.rate / naive))x")
        if let decodeCPU, let workerCPU = worker.cpuSeconds {
            let counted = Double(total - worker.firstApplied)
            print("CPU per event: decode \(String(format: "%.1f", decodeCPU / Double(total) * 1e6)) µs (this process), worker \(String(format: "%.1f", workerCPU / counted * 1e6)) µs (its process, first batch to caught up; PostgreSQL's not counted)")
        }
        if let prepared {
            print("prepare: the projection's work ahead of its transactions alone (no I/O, one task), over \(prepared.events) events in batches of \(prepared.batch) after the first \(prepared.warmup) applied")
        }
        if let changes = worker.alertChanges {
            print("alert changes written: \(changes) (\(String(format: "%.2f", Double(changes) / Double(total))) per event; read once caught up: a clock tick that ran before the read adds its changes, since the events' times are long past)")
        }
        print("goals: worker >= 0.5 x decode, >= 20 x naive, RSS <= 150 MB")
    }

    /// Every projection of the system (new instances: a projection may keep a
    /// cache, and each pass starts without one).
    static var all: [any Projection] { [PatientStateProjection(), AssetInventoryProjection(), AlertsProjection()] }

    static func projection(named name: String) throws -> any Projection {
        guard let projection = all.first(where: { $0.name == name }) else {
            throw ValidationError("unknown projection \(name): use \(all.map(\.name).joined(separator: ", "))")
        }
        return projection
    }

    private func preload(_ events: [Event], bootstrap: String, logger: Logger) async throws -> [KafkaTopicPartition: Int64] {
        var configuration = KafkaProducerConfiguration(bootstrapServers: bootstrap)
        configuration.compression = .lz4
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        var ends: [KafkaTopicPartition: Int64] = [:]
        for start in stride(from: 0, to: events.count, by: 20_000) {
            let records = events[start..<min(start + 20_000, events.count)].map { event in
                KafkaProducerRecord(topic: event.type.topic.name, key: EventRecord.key(for: event), value: EventRecord.value(for: event), headers: EventRecord.headers(for: event, as: KafkaHeader.self))
            }
            for result in await producer.send(records) {
                let report = try result.get()
                let partition = KafkaTopicPartition(topic: report.topic, partition: report.partition)
                ends[partition] = max(ends[partition] ?? 0, report.offset + 1)
            }
        }
        await producer.shutdown()
        return ends
    }

    /// Events consumed and decoded per second, from the first message, and the
    /// CPU time this process used meanwhile.
    private func consumeAndDecode(bootstrap: String, topics: [EventTopic], expected: Int, logger: Logger) async throws -> (rate: Double, cpuSeconds: Double?) {
        // The same Kafka settings as the worker gets (its environment over the dev
        // broker's consumer settings), so the two passes fetch alike.
        let variables = ProcessInfo.processInfo.environment.merging(Self.workerKafkaEnvironment(bootstrap: bootstrap)) { _, new in new }
        let settings = try KafkaSettings(environment: ServiceEnvironment(variables: variables))
        var configuration = settings.consumerConfiguration(clientID: "iomt-bench-decode", groupID: "iomt-bench-decode-\(UUID())", topics: topics.map(\.name))
        configuration.maxBatchSize = 2000
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        let decoder = EventRecordDecoder()
        var first: ContinuousClock.Instant?
        var firstCPU: Double?
        var count = 0
        var decoded = 0
        let pid = getpid()
        for await event in consumer.events {
            switch event {
            case .assigned(let assignment): assignment.start(at: Dictionary(uniqueKeysWithValues: assignment.partitions.map { ($0, 0) }))
            case .revoked(let revocation): revocation.acknowledge()
            case .messages(let batch):
                if first == nil {
                    first = .now
                    firstCPU = cpuSeconds(of: pid)
                }
                for message in batch where (try? decoder.decode(headers: message.headers, value: message.value)) != nil { decoded += 1 }
                count += batch.count
            }
            if count >= expected { break }
        }
        let seconds = (ContinuousClock.now - first!).seconds
        let cpu = cpuSeconds(of: pid).flatMap { end in firstCPU.map { end - $0 } }
        await consumer.close()
        guard decoded == expected else { throw ValidationError("decoded \(decoded) of \(expected)") }
        return (Double(count) / seconds, cpu)
    }

    /// The Kafka variables the worker gets over this process's environment: the
    /// bench broker's address and the dev broker's consumer settings (a 10 ms fetch
    /// wait, as `iomt dev` gives its workers, unless a fetch wait is set).
    static func workerKafkaEnvironment(bootstrap: String) -> [String: String] {
        DevBroker.consumerEnvironment().merging(["KAFKA_BROKERS": bootstrap]) { _, new in new }
    }

    private struct WorkerResult {
        var rate: Double
        var seconds: Double
        var totalSeconds: Double
        var peakRSSMegabytes: Int
        /// Events applied before the first batch was seen (not timed).
        var firstApplied: Int64
        /// CPU time the worker's process used from the first batch to caught up.
        var cpuSeconds: Double?
        /// For alerts, the changes it wrote (the sum of the alerts' versions), read
        /// once the checkpoints reach the log end.
        var alertChanges: Int?
    }

    private func workerCatchUp(_ plugin: any Projection, bootstrap: String, ends: [KafkaTopicPartition: Int64], logger: Logger) async throws -> WorkerResult {
        try await BenchDatabase.with(base: self.database.settings(), url: baseURL(), logger: logger) { database in
            try await workerCatchUp(plugin, bootstrap: bootstrap, ends: ends, database: database, logger: logger)
        }
    }

    private func workerCatchUp(
        _ plugin: any Projection, bootstrap: String, ends: [KafkaTopicPartition: Int64], database: BenchDatabase, logger: Logger
    ) async throws -> WorkerResult {
        let started = ContinuousClock.now
        let worker = try ChildService(executable: "iomt-\(plugin.name)", environment: Self.workerKafkaEnvironment(bootstrap: bootstrap).merging([
            "DATABASE_URL": database.url, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0", "LOG_LEVEL": "warning", "LOG_FORMAT": "text",
        ]) { _, new in new }, logFile: FileManager.default.temporaryDirectory.appendingPathComponent("iomt-bench-\(plugin.name).log"))
        defer { worker.stop() }
        let total = ends.values.reduce(0, +)
        let pid = worker.process.processIdentifier
        let (firstBatch, firstApplied, observedPeak, alertChanges, cpu) = try await PostgresClient.withClient(database.settings, logger: logger) { client in
            var firstBatch: ContinuousClock.Instant?
            var firstApplied: Int64 = 0
            var firstCPU: Double?
            var peak = 0
            while true {
                // Until the worker has migrated, the checkpoints table does not exist.
                var applied: Int64 = 0
                if let rows = try? await client.query("SELECT coalesce(sum(next_offset), 0)::int8 FROM iomt_runtime.checkpoints WHERE projection = \(plugin.name)") {
                    for try await value in rows.decode(Int64.self) { applied = value }
                }
                peak = max(peak, residentPeakMegabytes(of: pid))
                if firstBatch == nil, applied > 0 {
                    firstBatch = .now
                    firstApplied = applied
                    firstCPU = cpuSeconds(of: pid)
                }
                if applied >= total {
                    var changes: Int?
                    if plugin is AlertsProjection {
                        for try await value in try await client.query("SELECT coalesce(sum(version), 0)::int8 FROM alerts.alerts").decode(Int64.self) { changes = Int(value) }
                    }
                    let cpu = cpuSeconds(of: pid).flatMap { end in firstCPU.map { end - $0 } }
                    return (firstBatch, firstApplied, peak, changes, cpu)
                }
                guard worker.process.isRunning else { throw ValidationError("the worker exited") }
                // A catch-up takes about a second: poll often enough that the
                // poll interval is not a tenth of the figure.
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        var peak = observedPeak
        let finished = ContinuousClock.now
        peak = max(peak, residentPeakMegabytes(of: worker.process.processIdentifier))
        let seconds = (finished - (firstBatch ?? started)).seconds
        return WorkerResult(rate: Double(total - firstApplied) / seconds, seconds: seconds, totalSeconds: (finished - started).seconds, peakRSSMegabytes: peak, firstApplied: firstApplied, cpuSeconds: cpu, alertChanges: alertChanges)
    }

    /// Each event in its own transaction, through the same projection code.
    private func naiveProjector(_ plugin: any Projection, events: [ProjectedEvent], logger: Logger) async throws -> Double {
        try await BenchDatabase.with(base: self.database.settings(), url: baseURL(), logger: logger) { database in
            try await naiveProjector(plugin, events: events, database: database, logger: logger)
        }
    }

    private func naiveProjector(_ plugin: any Projection, events projected: [ProjectedEvent], database: BenchDatabase, logger: Logger) async throws -> Double {
        try await PostgresClient.withClient(database.settings, logger: logger) { client in
            try await plugin.migrate(client: client, logger: logger)
            let started = ContinuousClock.now
            for event in projected {
                try await plugin.applyStandalone([event], client: client, logger: logger, now: event.event.time)
            }
            return Double(projected.count) / (ContinuousClock.now - started).seconds
        }
    }

    /// For a projection that prepares batches ahead (``Projection/prepare(_:)``):
    /// events per second through `prepare` alone, in the worker's batch size,
    /// after the first batches were applied through a fresh database so the
    /// projection knows the workload's subjects. Batches it prepares nothing for
    /// are not counted.
    private func preparePass(named name: String, events: [Event], logger: Logger) async throws -> (rate: Double, events: Int, batch: Int, warmup: Int)? {
        let plugin = try Self.projection(named: name)
        guard plugin.preparesAhead else { return nil }
        return try await BenchDatabase.with(base: self.database.settings(), url: baseURL(), logger: logger) { database in
            try await PostgresClient.withClient(database.settings, logger: logger) { client in
                try await plugin.migrate(client: client, logger: logger)
                let projected = plugin.standalone(events)
                let size = plugin.defaultBatchMaxEvents
                let batches = stride(from: 0, to: projected.count, by: size).map { Array(projected[$0..<min($0 + size, projected.count)]) }
                let warmup = min(2, batches.count)
                for batch in batches.prefix(warmup) {
                    try await plugin.applyStandalone(batch, client: client, logger: logger, now: batch.last!.event.time)
                }
                var elapsed = Duration.zero
                var counted = 0
                for batch in batches.dropFirst(warmup) {
                    let started = ContinuousClock.now
                    let result = await plugin.prepare(batch)
                    if result != nil {
                        elapsed += ContinuousClock.now - started
                        counted += batch.count
                    }
                }
                guard counted > 0 else { return nil }
                return (Double(counted) / elapsed.seconds, counted, size, batches.prefix(warmup).reduce(0) { $0 + $1.count })
            }
        }
    }

    private func baseURL() throws -> String {
        guard let url = database.url ?? ServiceEnvironment.process["DATABASE_URL"] else { throw ValidationError("DATABASE_URL is not set") }
        return url
    }
}

/// The events `iomt bench projection` replays.
enum ProjectionWorkload: String, CaseIterable, ExpressibleByArgument {
    /// ``PatientWorkload``: vitals drawn uniformly over wide ranges, late events,
    /// reassignments; the alerts worker writes about 0.4 alert changes per event.
    case stress
    /// ``FleetSimulator`` over as many beds as patients
    /// (``FleetConfiguration/ward(beds:seed:)``): vitals around each patient's
    /// baseline, deteriorations, alarms, silent devices.
    case ward

    /// `count` events (setup first) and the number of devices they name.
    func events(_ count: Int, patients: Int, devices: Int) -> (events: [Event], devices: Int) {
        switch self {
        case .stress:
            var workload = PatientWorkload(patients: patients, devices: devices, seed: 2026)
            var stream = workload.setup()
            stream += workload.stream(max(0, count - stream.count))
            return (stream, devices)
        case .ward:
            let backlog = FleetSimulator.backlog(count, of: .ward(beds: patients, seed: 2026), from: EventTime(microseconds: 1_764_064_800_000_000))
            return (backlog.events, backlog.deviceIDs.count)
        }
    }
}

/// A fresh database on the bench's PostgreSQL server.
struct BenchDatabase: Sendable {
    let name: String
    let url: String
    let settings: DatabaseSettings
    let admin: DatabaseSettings

    static func create(base: DatabaseSettings, url: String, logger: Logger) async throws -> BenchDatabase {
        let name = "iomt_bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10).lowercased()
        do {
            _ = try await PostgresClient.withClient(base, logger: logger) { client in
                try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            }
        } catch {
            throw ValidationError("cannot create a bench database (the role needs CREATEDB): \(String(reflecting: error))")
        }
        var components = URLComponents(string: url)!
        components.path = "/" + name
        return BenchDatabase(name: name, url: components.string!, settings: try DatabaseSettings(url: components.string!), admin: base)
    }

    /// Runs `body` with a fresh database and drops it afterwards, whether `body`
    /// succeeded or not.
    static func with<T>(base: DatabaseSettings, url: String, logger: Logger, _ body: (BenchDatabase) async throws -> T) async throws -> T {
        let database = try await create(base: base, url: url, logger: logger)
        do {
            let result = try await body(database)
            await database.drop(logger: logger)
            return result
        } catch {
            await database.drop(logger: logger)
            throw error
        }
    }

    /// Drops the database (ending its other sessions); says so on standard error
    /// when it cannot, so a leftover database does not go unnoticed.
    func drop(logger: Logger) async {
        do {
            _ = try await PostgresClient.withClient(admin, logger: logger) { client in
                try await client.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
            }
        } catch {
            FileHandle.standardError.write(Data("iomt bench: could not drop the bench database \(name): \(String(reflecting: error))\n".utf8))
        }
    }
}

/// CPU time (user and system) a process has used so far, from
/// `/proc/<pid>/stat`; nil once it is gone.
func cpuSeconds(of pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let end = stat.lastIndex(of: ")") else { return nil }
    // After the command's closing parenthesis: state is field 3, utime 14, stime 15.
    let fields = stat[stat.index(after: end)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Peak resident set size (VmHWM) of a process, in MB.
func residentPeakMegabytes(of pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
    else { return 0 }
    return kilobytes / 1024
}
