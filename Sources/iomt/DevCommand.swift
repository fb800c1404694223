import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import ServiceSupport

/// `iomt dev`: the whole development stack in one command.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run the development stack: PostgreSQL, the dev broker, every service and a simulated fleet. Ctrl-C stops it.",
        discussion: """
        PostgreSQL comes from DATABASE_URL when set, otherwise from ops/dev-postgres.sh \
        (a private cluster under .data/postgres, started here and stopped on exit). \
        The dev broker, iomt-ingest, the three workers, iomt-query and `iomt simulate` \
        run as separate processes (found next to this binary: build them all with \
        `swift build`), logging to <state-dir>/logs. The URLs, a dev JWT and a device \
        token are printed and written to <state-dir>/stack.env; the JWT secret is new \
        on every run.
        """
    )

    @Option(help: "Port of the private PostgreSQL cluster.")
    var postgresPort: Int = 55432

    @Option(help: "Port of the ingest service.")
    var ingestPort: Int = 8080

    @Option(help: "Port of the query service.")
    var queryPort: Int = 8081

    @Option(help: "Events per second of the simulated fleet.")
    var rate = 20.0

    @Option(help: "Beds of the simulated fleet.")
    var patients = 24

    @Flag(inversion: .prefixedNo, help: "Run the fleet simulator.")
    var simulator = true

    @Flag(help: "With DATABASE_URL: drop the projections an earlier run left there (the dev broker starts empty every run).")
    var resetProjections = false

    @Option(help: "Alert rules file for iomt-alerts (ALERT_RULES_FILE).")
    var alertRules: String?

    @Option(help: "Folder for logs, stack.env and the simulation report (default <project>/.data/dev).")
    var stateDir: String?

    @Option(help: "Project folder (holds ops/ and .data/).")
    var project: String = FileManager.default.currentDirectoryPath

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try logging.bootstrap()
        let stop = ChildProcesses.stopOnInterrupt()
        let state = URL(fileURLWithPath: stateDir ?? project + "/.data/dev")
        let logs = state.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        for port in [ingestPort, queryPort] where !LoopbackPort.isFree(port) {
            throw ValidationError("port \(port) is in use: stop what holds it or pass --ingest-port / --query-port")
        }

        let postgres = try DevPostgres(project: project, port: postgresPort)
        let ownPostgres = ServiceEnvironment.process["DATABASE_URL"] == nil
        let databaseURL = try ServiceEnvironment.process["DATABASE_URL"] ?? postgres.start()
        var stack = DevStack(logs: logs)
        defer {
            stack.stopAll()
            if ownPostgres { try? postgres.stop() }
        }
        // The dev broker keeps events in memory: a new run starts with an empty log,
        // so projections (and their checkpoints) of an earlier run must go.
        try await withTimeout(.seconds(30), "PostgreSQL (DATABASE_URL or the private cluster) did not answer within 30 s") {
            try await DevProjections.reset(databaseURL: databaseURL, allowed: ownPostgres || resetProjections)
        }
        let broker = try ChildBroker(brokers: 1, topics: [])
        stack.broker = broker
        let secret = randomSecret()
        var common = [
            "KAFKA_BROKERS": broker.bootstrapServers,
            "DATABASE_URL": databaseURL,
            "JWT_HS256_SECRET": secret,
            "HTTP_HOST": "127.0.0.1",
            "LOG_LEVEL": ServiceEnvironment.process["LOG_LEVEL"] ?? "info",
            "LOG_FORMAT": "text",
        ]
        common["QUERY_DATABASE_PASSWORD"] = randomSecret()
        if let alertRules { common["ALERT_RULES_FILE"] = URL(fileURLWithPath: alertRules).path }
        if ServiceEnvironment.process["QUERY_OPENAPI_FILE"] == nil {
            common["QUERY_OPENAPI_FILE"] = project + "/schemas/openapi/query.yaml"
        }

        let urls = try await stack.startServices(environment: common, ingestPort: ingestPort, queryPort: queryPort)
        let (ingestURL, queryURL) = (urls.ingest, urls.query)

        // The user's tokens: a JWT that may read everything of the dev facilities,
        // one that may publish care events, and one device token.
        let facilities = (1...2).map { "fac-\($0)" }
        let signer = try await AccessTokenVerifier(settings: .hs256(secret: secret))
        let expiry = Date().addingTimeInterval(12 * 3600)
        let userToken = try await signer.sign(AccessClaims(subject: "dev-user", roles: [.clinician, .ops, .analyst, .admin], facilities: facilities, expiresAt: expiry))
        let systemToken = try await signer.sign(AccessClaims(subject: "dev-clinical-system", roles: [.clinicalSystem], facilities: facilities, expiresAt: expiry))
        var database = DatabaseOptions()
        database.url = databaseURL
        let deviceToken = try await database.withDeviceTokens { try await $0.create(deviceId: "dev-device-1", label: "iomt dev") }

        let environmentFile = state.appendingPathComponent("stack.env")
        let variables = [
            ("IOMT_INGEST_URL", ingestURL), ("IOMT_QUERY_URL", queryURL), ("IOMT_TOKEN", userToken),
            ("IOMT_CLINICAL_SYSTEM_TOKEN", systemToken), ("IOMT_DEVICE_ID", "dev-device-1"), ("IOMT_DEVICE_TOKEN", deviceToken),
            ("KAFKA_BROKERS", broker.bootstrapServers), ("DATABASE_URL", databaseURL), ("JWT_HS256_SECRET", secret),
        ]
        _ = FileManager.default.createFile(
            atPath: environmentFile.path, contents: Data(variables.map { "\($0.0)=\($0.1)\n" }.joined().utf8),
            attributes: [.posixPermissions: 0o600]
        )

        if simulator {
            try stack.startSimulator(environment: common, arguments: [
                "simulate", "--ingest-url", ingestURL, "--query-url", queryURL, "--rate", String(rate),
                "--patients", String(patients), "--facilities", String(facilities.count),
                "--report-file", state.appendingPathComponent("simulation.json").path,
            ])
        }

        print("""
        iomt dev stack is up (logs in \(logs.path)).
          ingest           \(ingestURL)   POST /v1/events
          query            \(queryURL)   GET /v1/patients/{id}, /v1/devices/{id}, /v1/alerts, /v1/alerts/stream, /openapi.yaml
        \(urls.workers.map { "  \($0.name.dropFirst(5).padding(toLength: 16, withPad: " ", startingAt: 0)) \($0.url)   /metrics" }.joined(separator: "\n"))
          KAFKA_BROKERS=\(broker.bootstrapServers)
          DATABASE_URL=\(databaseURL)
        \(simulator ? "  simulator        \(patients) beds, \(Int(rate)) events/s (patients sim-pat-00001 …)" : "  simulator        off")
        Tokens, valid 12 h (also in \(environmentFile.path)):
          IOMT_TOKEN                   clinician, ops, analyst, admin for \(facilities.joined(separator: ", "))
          IOMT_CLINICAL_SYSTEM_TOKEN   publishes care events
          IOMT_DEVICE_TOKEN            device dev-device-1
        Try:
          set -a; . \(environmentFile.path); set +a
          curl -s -H "Authorization: Bearer $IOMT_TOKEN" $IOMT_QUERY_URL/v1/patients/sim-pat-00001
        Press Ctrl-C to stop.
        """)
        fflush(nil)

        // Run until Ctrl-C or until a process dies.
        while !stop.isSet {
            if let failed = stack.exited() {
                print("iomt dev: \(failed) exited unexpectedly; see \(logs.appendingPathComponent(failed + ".log").path). Stopping.")
                throw ExitCode(1)
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
        print("iomt dev: stopping")
    }
}

/// The projections in the dev database.
enum DevProjections {
    static let schemas = ProjectionBenchCommand.all.map(\.schema)
    static let components = ProjectionBenchCommand.all.map(\.name)

    /// Drops the projections' schemas, checkpoints and migration records, when
    /// `allowed`; otherwise fails if there are any.
    static func reset(databaseURL: String, allowed: Bool) async throws {
        let logger = {
            var logger = Logger(label: "iomt.dev")
            logger.logLevel = .warning
            return logger
        }()
        let checkpoints = try await PostgresClient.withClient(try DatabaseSettings(url: databaseURL), logger: logger) { client -> Int in
            let rows = try await client.query("SELECT to_regclass('iomt_runtime.checkpoints') IS NOT NULL", logger: logger)
            var exists = false
            for try await (value) in rows.decode(Bool.self) { exists = value }
            guard exists else { return 0 }
            var count = 0
            for try await (value) in try await client.query("SELECT count(*)::int8 FROM iomt_runtime.checkpoints", logger: logger).decode(Int.self) { count = value }
            guard count > 0, allowed else { return count }
            for schema in schemas {
                try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: logger)
            }
            try await client.query("DELETE FROM iomt_runtime.checkpoints", logger: logger)
            try await client.query("DELETE FROM iomt_runtime.migrations WHERE component = ANY(\(components))", logger: logger)
            return 0
        }
        if checkpoints > 0 {
            throw ValidationError("""
                the database in DATABASE_URL holds projections of an earlier event log (\(checkpoints) checkpoints), \
                but the dev broker starts empty: pass --reset-projections to drop them, or use a new database
                """)
        }
    }
}

/// Runs `body`, failing with `message` if it takes longer than `timeout`.
func withTimeout<T: Sendable>(_ timeout: Duration, _ message: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw ValidationError(message) }
        return value
    }
}

/// A random secret (JWT signing, the query role's password) for the dev stack and benchmarks.
func randomSecret() -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    var generator = SystemRandomNumberGenerator()
    return String((0..<48).map { _ in alphabet.randomElement(using: &generator)! })
}

/// The processes of the dev stack, stopped in reverse order of dependence.
struct DevStack {
    let logs: URL
    var broker: ChildBroker?
    var services: [ChildService] = []
    var simulator: ChildService?

    mutating func start(_ executable: String, environment: [String: String], ready: String) async throws {
        let service = try ChildService(executable: executable, environment: environment, logFile: logs.appendingPathComponent(executable + ".log"))
        services.append(service)
        try await service.waitUntilReady(ready)
    }

    /// Starts the three workers (each migrates its schema), then ingest and
    /// query on the given ports; returns their base URLs.
    mutating func startServices(environment common: [String: String], ingestPort: Int, queryPort: Int) async throws
        -> (ingest: String, query: String, workers: [(name: String, url: String)]) {
        var workers: [(name: String, url: String)] = []
        for worker in ["iomt-patient-state", "iomt-asset-inventory", "iomt-alerts"] {
            let port = try LoopbackPort.free()
            let environment = common.merging(["HTTP_PORT": String(port)]) { $1 }.merging(DevBroker.consumerEnvironment(over: common)) { current, _ in current }
            try await start(worker, environment: environment, ready: "http://127.0.0.1:\(port)/ready")
            workers.append((worker, "http://127.0.0.1:\(port)"))
        }
        let ingest = "http://127.0.0.1:\(ingestPort)", query = "http://127.0.0.1:\(queryPort)"
        try await start("iomt-ingest", environment: common.merging(["HTTP_PORT": String(ingestPort)]) { $1 }, ready: ingest + "/ready")
        try await start("iomt-query", environment: common.merging(["HTTP_PORT": String(queryPort)]) { $1 }, ready: query + "/ready")
        return (ingest, query, workers)
    }

    mutating func startSimulator(environment: [String: String], arguments: [String]) throws {
        simulator = try ChildService(executable: "iomt", environment: environment, arguments: arguments, logFile: logs.appendingPathComponent("simulator.log"))
    }

    /// The name of a process that has exited, if any.
    func exited() -> String? {
        if let simulator, !simulator.process.isRunning, simulator.process.terminationStatus != 0 { return "simulator" }
        return services.first { !$0.process.isRunning }?.name
    }

    /// Stops the simulator, then ingest and query, then the workers, then the broker.
    mutating func stopAll() {
        simulator?.stop()
        simulator = nil
        for service in services.reversed() { service.stop() }
        services = []
        broker?.stop()
        broker = nil
    }
}

/// Drives `ops/dev-postgres.sh`, the private PostgreSQL cluster of the project.
struct DevPostgres {
    let script: URL
    let port: Int

    init(project: String, port: Int) throws {
        script = URL(fileURLWithPath: project).appendingPathComponent("ops/dev-postgres.sh")
        guard FileManager.default.isExecutableFile(atPath: script.path) else {
            throw ValidationError("\(script.path) not found: run from the project folder or pass --project")
        }
        self.port = port
    }

    /// Creates and starts the cluster if needed; returns its `DATABASE_URL`.
    func start() throws -> String {
        let output = try capture(["start", "--port", String(port)])
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("DATABASE_URL=") }) else {
            throw ValidationError("dev-postgres.sh printed no DATABASE_URL")
        }
        return String(line.dropFirst("DATABASE_URL=".count))
    }

    /// Stops the cluster.
    func stop() throws {
        _ = try capture(["stop", "--port", String(port)])
    }

    private func capture(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = script
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("dev-postgres.sh \(arguments[0]) failed with status \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
