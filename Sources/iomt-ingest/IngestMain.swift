import ArgumentParser
import IngestService
import Logging
import ServiceSupport

/// `iomt-ingest`: the ingest service. Configuration comes from the environment
/// (see the README); flags override the listen address.
@main
struct IngestMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iomt-ingest",
        abstract: "HTTP ingest of CloudEvents into Kafka (POST /v1/events)."
    )

    @Option(help: "Interface to listen on (env HTTP_HOST, default 0.0.0.0).")
    var host: String?

    @Option(help: "Port to listen on (env HTTP_PORT, default 8080).")
    var port: Int?

    func run() async throws {
        let environment = ServiceEnvironment.process
        try LoggingSetup.bootstrap(from: environment)
        var configuration = try IngestConfiguration(environment: environment)
        if let host { configuration.http.host = host }
        if let port { configuration.http.port = port }
        let logger = Logger(label: "iomt.ingest")
        let service = try await IngestService.build(configuration: configuration, logger: logger) { port in
            logger.info("ingest listening", metadata: ["port": "\(port)"])
        }
        try await service.application.runService()
    }
}
