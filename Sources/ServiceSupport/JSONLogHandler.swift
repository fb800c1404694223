import Foundation
import Logging
import Synchronization

/// A log handler that writes one JSON object per line to standard error:
/// `{"time":…,"level":…,"label":…,"message":…,<metadata>}`.
///
/// Patient identifiers must never reach a log above debug level; that is the
/// caller's duty (see STYLE.md), this handler writes what it is given.
public struct JSONLogHandler: LogHandler {
    /// The logger label, written as `label`.
    public let label: String
    /// Metadata attached to every record of this handler.
    public var metadata: Logger.Metadata = [:]
    /// Minimum level written.
    public var logLevel: Logger.Level
    /// Task-local or constant metadata added to each record.
    public var metadataProvider: Logger.MetadataProvider?

    private static let output = Mutex<Void>(())

    /// Creates a handler for `label` at `level`.
    public init(label: String, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.logLevel = level
        self.metadataProvider = metadataProvider
    }

    /// Reads or writes one metadata entry.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one record.
    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var line = "{\"time\":"
        Self.appendJSONString(ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(secondsFromGMT: 0)!, formatOptions: [.withInternetDateTime, .withFractionalSeconds]), to: &line)
        line += ",\"level\":"
        Self.appendJSONString(event.level.rawValue, to: &line)
        line += ",\"label\":"
        Self.appendJSONString(label, to: &line)
        line += ",\"message\":"
        Self.appendJSONString(event.message.description, to: &line)
        if let error = event.error {
            line += ",\"error\":"
            Self.appendJSONString(String(describing: error), to: &line)
        }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += ","
            Self.appendJSONString(key, to: &line)
            line += ":"
            Self.appendJSONString(value.description, to: &line)
        }
        line += "}\n"
        Self.output.withLock { _ in
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// Appends `value` as a JSON string literal.
    static func appendJSONString(_ value: String, to output: inout String) {
        output += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                output += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
