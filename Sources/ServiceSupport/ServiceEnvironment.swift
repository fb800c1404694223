import Foundation

/// A configuration value that could not be used. `description` names the setting
/// and the problem but never echoes a value (it may be a secret).
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The environment variable or flag at fault.
    public var setting: String
    /// What is wrong with it.
    public var problem: String

    /// Creates an error for a setting.
    public init(setting: String, problem: String) {
        self.setting = setting
        self.problem = problem
    }

    /// `SETTING: problem`.
    public var description: String { "\(setting): \(problem)" }
}

/// Read access to the process environment (or a dictionary standing in for it in
/// tests), with typed parsing and errors that name the variable.
public struct ServiceEnvironment: Sendable {
    /// The variables.
    public var variables: [String: String]

    /// The current process environment.
    public static var process: ServiceEnvironment {
        ServiceEnvironment(variables: ProcessInfo.processInfo.environment)
    }

    /// Wraps a dictionary of variables.
    public init(variables: [String: String]) {
        self.variables = variables
    }

    /// The non-empty value of `name`, if set.
    public subscript(name: String) -> String? {
        guard let value = variables[name], !value.isEmpty else { return nil }
        return value
    }

    /// The value of `name`, or an error naming it when missing.
    public func required(_ name: String) throws(ConfigurationError) -> String {
        guard let value = self[name] else {
            throw ConfigurationError(setting: name, problem: "is required and not set")
        }
        return value
    }

    /// Parses `name` with `parse`, returning `defaultValue` when unset.
    public func value<T>(_ name: String, default defaultValue: T, parse: (String) -> T?) throws(ConfigurationError) -> T {
        guard let raw = self[name] else { return defaultValue }
        guard let parsed = parse(raw) else {
            throw ConfigurationError(setting: name, problem: "has an invalid value")
        }
        return parsed
    }

    /// An integer setting, bounded to `range`.
    public func integer(_ name: String, default defaultValue: Int, in range: ClosedRange<Int> = Int.min...Int.max) throws(ConfigurationError) -> Int {
        let value = try value(name, default: defaultValue) { Int($0) }
        guard range.contains(value) else {
            throw ConfigurationError(setting: name, problem: "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    /// Every variable starting with `prefix`, keyed by the rest of its name.
    public func withPrefix(_ prefix: String) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in variables where name.hasPrefix(prefix) {
            result[String(name.dropFirst(prefix.count))] = value
        }
        return result
    }
}
