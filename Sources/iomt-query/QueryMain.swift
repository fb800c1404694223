import ArgumentParser
import Logging
import QueryService
import ServiceSupport

/// `iomt-query`: the query service. Configuration comes from the environment
/// (see the README); flags override the listen address.
@main
struct QueryMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "iomt-query", abstract: "Read API over the projections.")

    @Option(help: "Interface to listen on (env HTTP_HOST, default 0.0.0.0).")
    var host: String?

    @Option(help: "Port to listen on (env HTTP_PORT, default 8081).")
    var port: Int?

    func run() async throws {
        let environment = ServiceEnvironment.process
        AllocatorTuning.apply(environment: environment)
        try LoggingSetup.bootstrap(from: environment)
        var configuration = try QueryConfiguration(environment: environment)
        if let host { configuration.http.host = host }
        if let port { configuration.http.port = port }
        let service = try await QueryService.build(configuration: configuration, logger: Logger(label: "iomt.query"))
        try await service.application.runService()
    }
}
