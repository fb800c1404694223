/// Why an event was refused, with the path of the offending field.
///
/// `path` is relative to the event (`data.observations[0].unit`); callers that
/// hold a batch prefix it (`events[3].data.observations[0].unit`). Messages echo
/// codes, units and numbers but never identifiers, so they are safe to return to
/// the sender and to write to the dead-letter topic.
public struct EventValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Machine-readable category, also used as a metrics label.
    public enum Code: String, Sendable, CaseIterable {
        /// Not JSON, or not a JSON object where one is required.
        case malformed
        /// `type` names no event type of the contract.
        case unknownType = "unknown_type"
        /// A required attribute or field is absent.
        case missingField = "missing_field"
        /// A field has the wrong JSON type or format.
        case invalidField = "invalid_field"
        /// A unit that is not valid for the vital-sign code.
        case invalidUnit = "invalid_unit"
        /// A number outside its allowed range.
        case outOfRange = "out_of_range"
        /// `time` is missing or not RFC 3339 with an offset.
        case invalidTime = "invalid_time"
        /// `specversion` is not 1.0.
        case unsupportedVersion = "unsupported_version"
        /// A field appears twice in one object.
        case duplicateField = "duplicate_field"
        /// The event exceeds the size limit.
        case tooLarge = "too_large"
    }

    /// The category.
    public var code: Code
    /// Dotted path of the field, e.g. `data.observations[0].unit`; empty for the
    /// event as a whole.
    public var path: String
    /// What is wrong, e.g. `"bpm" is not a unit for 8867-4 (expected "/min")`.
    public var message: String

    /// Creates an error.
    public init(_ code: Code, path: String, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    /// `path: message`, or the message alone for the event as a whole.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }

    /// The same error with `component` put in front of its path (`data`,
    /// `events[3]`, `observations[0]`).
    public func within(_ component: String) -> EventValidationError {
        var copy = self
        copy.path = path.isEmpty ? component : (path.hasPrefix("[") ? component + path : component + "." + path)
        return copy
    }
}
