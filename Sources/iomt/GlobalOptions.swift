import ArgumentParser
import Logging
import ServiceSupport

/// Logging options every subcommand accepts.
struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env LOG_LEVEL, default info).")
    var level: String?

    @Option(name: .customLong("log-format"), help: "json or text (env LOG_FORMAT, default text for the CLI).")
    var format: String?

    /// Bootstraps logging; flags win over the environment.
    func bootstrap() throws {
        let environment = ServiceEnvironment.process
        let levelText = level ?? environment["LOG_LEVEL"] ?? "info"
        let formatText = format ?? environment["LOG_FORMAT"] ?? "text"
        guard let parsedLevel = Logger.Level(rawValue: levelText.lowercased()) else {
            throw ValidationError("--log-level: unknown level")
        }
        guard let parsedFormat = LogFormat(rawValue: formatText.lowercased()) else {
            throw ValidationError("--log-format: must be json or text")
        }
        LoggingSetup.bootstrap(level: parsedLevel, format: parsedFormat)
    }
}
