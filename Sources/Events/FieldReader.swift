/// Typed, validating reads of JSON members, with the contract's formats:
/// identifiers, labels, texts, bounded numbers, enumerations and times. Each
/// throws an ``EventValidationError`` whose path is the field name.
enum FieldReader {
    static let labelLimit = 128
    static let textLimit = 1024

    /// Iterates an object's members, handing each to `body`; throws when `value`
    /// is not an object. Unknown members are the body's to ignore.
    static func members(
        of value: JSONValue,
        _ body: (JSONValue, JSONValue) throws(EventValidationError) -> Void
    ) throws(EventValidationError) {
        guard value.kind == .object else {
            throw EventValidationError(.invalidField, path: "", "must be a JSON object")
        }
        try value.forEachMember(body)
    }

    /// Stores a field, refusing a second occurrence.
    static func set<T>(_ slot: inout T?, _ read: @autoclosure () throws(EventValidationError) -> T, _ name: String) throws(EventValidationError) {
        guard slot == nil else {
            throw EventValidationError(.duplicateField, path: name, "appears more than once")
        }
        slot = try read()
    }

    static func required<T>(_ slot: T?, _ name: String) throws(EventValidationError) -> T {
        guard let slot else { throw EventValidationError(.missingField, path: name, "is required") }
        return slot
    }

    static func string(_ value: JSONValue, _ name: String) throws(EventValidationError) -> String {
        guard value.kind == .string else {
            throw EventValidationError(.invalidField, path: name, "must be a string")
        }
        guard let string = value.string else {
            throw EventValidationError(.invalidField, path: name, "is not valid UTF-8 text")
        }
        return string
    }

    /// A pseudonymous identifier: 1–128 characters, letters, digits and `._:@-`,
    /// starting with a letter or digit.
    static func identifier(_ value: JSONValue, _ name: String) throws(EventValidationError) -> String {
        let string = try string(value, name)
        guard isIdentifier(string.utf8) else {
            throw EventValidationError(.invalidField, path: name, "must be 1 to 128 letters, digits or . _ : @ - and start with a letter or digit")
        }
        return string
    }

    static func isIdentifier(_ utf8: some Collection<UInt8>) -> Bool {
        guard let first = utf8.first, utf8.count <= 128, isAlphanumeric(first) else { return false }
        return utf8.allSatisfy { byte in
            isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
                || byte == UInt8(ascii: "@") || byte == UInt8(ascii: "-")
        }
    }

    @inline(__always)
    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte &- UInt8(ascii: "0")) < 10 || ((byte | 0x20) &- UInt8(ascii: "a")) < 26
    }

    /// A non-empty string of at most `limit` characters (Unicode scalars, as JSON
    /// Schema counts them).
    static func label(_ value: JSONValue, _ name: String, limit: Int = labelLimit) throws(EventValidationError) -> String {
        let string = try string(value, name)
        // UTF-8 length bounds the scalar count: count scalars only when needed.
        let bytes = string.utf8.count
        let length = bytes <= limit ? bytes : string.unicodeScalars.count
        guard length >= 1 else {
            throw EventValidationError(.invalidField, path: name, "must not be empty")
        }
        guard length <= limit else {
            throw EventValidationError(.invalidField, path: name, "must be at most \(limit) characters")
        }
        return string
    }

    static func text(_ value: JSONValue, _ name: String) throws(EventValidationError) -> String {
        try label(value, name, limit: textLimit)
    }

    static func number(_ value: JSONValue, _ name: String, in range: ClosedRange<Double>? = nil) throws(EventValidationError) -> Double {
        guard let number = value.number, number.isFinite else {
            throw EventValidationError(.invalidField, path: name, "must be a number")
        }
        if let range, !range.contains(number) {
            throw EventValidationError(.outOfRange, path: name, "\(format(number)) is outside \(format(range.lowerBound))…\(format(range.upperBound))")
        }
        return number
    }

    /// An integral number (JSON Schema's `integer` accepts `30.0`).
    static func integer(_ value: JSONValue, _ name: String, in range: ClosedRange<Int>) throws(EventValidationError) -> Int {
        guard let number = value.number, number.isFinite, number == number.rounded(.towardZero), abs(number) < 9e15 else {
            throw EventValidationError(.invalidField, path: name, "must be an integer")
        }
        let integer = Int(number)
        guard range.contains(integer) else {
            throw EventValidationError(.outOfRange, path: name, "\(integer) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return integer
    }

    static func bool(_ value: JSONValue, _ name: String) throws(EventValidationError) -> Bool {
        guard let bool = value.bool else {
            throw EventValidationError(.invalidField, path: name, "must be true or false")
        }
        return bool
    }

    static func choice<T: RawRepresentable & CaseIterable>(_ value: JSONValue, _ name: String, as: T.Type) throws(EventValidationError) -> T where T.RawValue == String {
        guard value.kind == .string, let raw = value.string, let choice = T(rawValue: raw) else {
            let options = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw EventValidationError(.invalidField, path: name, "must be one of \(options)")
        }
        return choice
    }

    static func time(_ value: JSONValue, _ name: String) throws(EventValidationError) -> EventTime {
        guard value.kind == .string, let time = EventTime(rfc3339: value.rawBytes) else {
            throw EventValidationError(.invalidTime, path: name, "must be an RFC 3339 date-time with an offset, e.g. 2026-11-25T10:00:00Z")
        }
        return time
    }

    /// A number as it would be written in JSON (integers without a fraction).
    static func format(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }
}
