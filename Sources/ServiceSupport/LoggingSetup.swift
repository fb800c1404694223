import Logging

/// Log output format (`LOG_FORMAT`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line, for log shippers. The default.
    case json
    /// Human-readable lines, for a terminal.
    case text
}

/// Installs the process-wide log handler. Call once, first thing in `main`.
public enum LoggingSetup {
    /// Bootstraps swift-log with the given level and format. Standard error only,
    /// so standard output stays free for a command's own output.
    public static func bootstrap(level: Logger.Level, format: LogFormat) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .json:
                return JSONLogHandler(label: label, level: level)
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }

    /// Bootstraps from `LOG_LEVEL` (default `info`) and `LOG_FORMAT` (default
    /// `json`), after validating both.
    public static func bootstrap(from environment: ServiceEnvironment) throws(ConfigurationError) {
        let level = try environment.value("LOG_LEVEL", default: Logger.Level.info) { Logger.Level(rawValue: $0.lowercased()) }
        let format = try environment.value("LOG_FORMAT", default: LogFormat.json) { LogFormat(rawValue: $0.lowercased()) }
        bootstrap(level: level, format: format)
    }
}
