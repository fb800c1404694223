/// A parsed JSON text kept as a flat list of tokens over the original bytes (a
/// "tape").
///
/// Parsing records where each value starts and ends instead of building a tree of
/// dictionaries and arrays, so a document costs one token array, reused across
/// documents, however many values it holds. Strings and numbers are decoded only
/// when asked for.
///
/// Lifetime: the document refers to the bytes it was parsed from, and each
/// ``JSONValue`` refers to the document without retaining it. Read values only
/// inside the closure of ``parse(_:_:)``; never store a ``JSONValue``. A document
/// is used by one thread at a time.
public final class JSONDocument {
    /// The kind of a JSON value.
    public enum Kind: UInt8, Sendable {
        /// `{…}`
        case object
        /// `[…]`
        case array
        /// `"…"`
        case string
        /// A number.
        case number
        /// `true` or `false`.
        case bool
        /// `null`.
        case null
    }

    struct Token {
        var kind: Kind
        /// For strings: the value contains escapes. For bools: the value is true.
        var flag: Bool
        /// Byte range: for strings the content between the quotes, for numbers
        /// the literal, for containers from the opening to past the closing
        /// bracket.
        var start: UInt32
        var end: UInt32
        /// Index of the first token after this value and its children.
        var next: UInt32
        /// Number of members or elements of a container.
        var count: UInt32
    }

    /// Token storage, managed by hand: values read tokens on the hot path, and a
    /// raw buffer spares each read the reference counting and exclusivity checks
    /// of an array stored in a class.
    @exclusivity(unchecked) var tokens: UnsafeMutablePointer<Token>
    @exclusivity(unchecked) var count = 0
    @exclusivity(unchecked) var capacity: Int
    @exclusivity(unchecked) var bytes = UnsafeRawBufferPointer(start: nil, count: 0)

    /// An empty document; reuse it across `parse` calls to keep its token storage.
    public init() {
        capacity = 256
        tokens = .allocate(capacity: capacity)
    }

    /// An empty document with room for about `bytes` bytes of JSON, for a
    /// document used once: parsing a large text then does not grow (and copy) the
    /// token storage step by step.
    public init(expectedBytes bytes: Int) {
        // Compact event JSON holds about one token per 8 bytes; keys are not tokens.
        capacity = max(256, bytes / 6)
        tokens = .allocate(capacity: capacity)
    }

    deinit {
        tokens.deallocate()
    }


    /// Parses `bytes` as one JSON text and calls `body` with the root value.
    /// Throws ``JSONSyntaxError`` (with the byte offset) for malformed JSON, or
    /// whatever `body` throws.
    public func parse<R>(_ bytes: UnsafeRawBufferPointer, _ body: (JSONValue) throws -> R) throws -> R {
        count = 0
        self.bytes = bytes
        defer { self.bytes = UnsafeRawBufferPointer(start: nil, count: 0) }
        var parser = JSONParser(bytes: bytes, document: self)
        do {
            try parser.parseDocument()
        } catch {
            parser.finish(into: self)
            throw error
        }
        parser.finish(into: self)
        return try body(JSONValue(document: self, index: 0))
    }

    /// Parses a byte array; see ``parse(_:_:)``.
    public func parse<R>(_ bytes: [UInt8], _ body: (JSONValue) throws -> R) throws -> R {
        try bytes.withUnsafeBytes { buffer in try parse(buffer, body) }
    }
}

/// Malformed JSON: what was expected and where.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Zero-based byte offset of the problem.
    public var offset: Int
    /// What is wrong, e.g. `expected ':' after an object key`.
    public var reason: String

    /// Creates an error.
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    /// `malformed JSON at byte N: reason`.
    public var description: String { "malformed JSON at byte \(offset): \(reason)" }
}
