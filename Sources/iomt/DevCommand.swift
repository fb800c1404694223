import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import ServiceSupport

/// `iomt dev`: the whole development stack in one command.
struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run the development stack: private PostgreSQL and the dev broker. Ctrl-C stops it.",
        discussion: """
        PostgreSQL comes from DATABASE_URL when set, otherwise from ops/dev-postgres.sh \
        (a private cluster under .data/postgres, started here and stopped on exit).
        """
    )

    @Option(help: "Port of the private PostgreSQL cluster.")
    var postgresPort: Int = 55432

    @Option(help: "Project folder (holds ops/ and .data/).")
    var project: String = FileManager.default.currentDirectoryPath

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try logging.bootstrap()
        let logger = Logger(label: "iomt.dev")
        let postgres = try DevPostgres(project: project, port: postgresPort)
        let databaseURL = try ServiceEnvironment.process["DATABASE_URL"] ?? postgres.start()
        let broker = try DevBroker(logger: logger)
        print("""
        iomt dev stack is up.
          KAFKA_BROKERS=\(broker.bootstrapServers)
          DATABASE_URL=\(databaseURL)
        Press Ctrl-C to stop.
        """)
        let group = ServiceGroup(
            services: [DevBrokerService(broker: broker)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        try await group.run()
        if ServiceEnvironment.process["DATABASE_URL"] == nil {
            try postgres.stop()
        }
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
