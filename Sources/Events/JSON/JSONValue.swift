/// One value of a ``JSONDocument``. Valid only inside the document's `parse`
/// closure; never store it.
public struct JSONValue {
    unowned(unsafe) let document: JSONDocument
    let index: Int

    init(document: JSONDocument, index: Int) {
        self.document = document
        self.index = index
    }

    @inline(__always)
    var token: JSONDocument.Token { document.tokens[index] }

    /// The kind of this value.
    public var kind: JSONDocument.Kind { token.kind }

    /// The exact bytes of this value in the source text (for a string, without
    /// its quotes).
    public var rawBytes: UnsafeRawBufferPointer {
        let token = token
        return UnsafeRawBufferPointer(rebasing: document.bytes[Int(token.start)..<Int(token.end)])
    }

    /// The byte offset of this value in the source text.
    public var offset: Int { Int(token.start) }

    /// The string value, or `nil` when this is not a string or is not valid UTF-8.
    public var string: String? {
        let token = token
        guard token.kind == .string else { return nil }
        return JSONString.decode(rawBytes, escaped: token.flag)
    }

    /// True when this is a string equal to `literal` (compared without decoding
    /// when the string has no escapes).
    public func isString(_ literal: StaticString) -> Bool {
        let token = token
        guard token.kind == .string else { return false }
        if token.flag { return string == literal.description }
        return JSONValue.equal(rawBytes, literal)
    }

    @inline(__always) @usableFromInline
    static func equal(_ raw: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard raw.count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for index in 0..<raw.count where raw[index] != expected[index] {
            return false
        }
        return true
    }

    /// The numeric value, or `nil` when this is not a number.
    public var number: Double? {
        guard token.kind == .number else { return nil }
        return JSONNumber.parse(rawBytes)
    }

    /// The boolean value, or `nil` when this is not `true` or `false`.
    public var bool: Bool? {
        let token = token
        return token.kind == .bool ? token.flag : nil
    }

    /// True for `null`.
    public var isNull: Bool { token.kind == .null }

    /// Number of members (object) or elements (array); 0 otherwise.
    public var count: Int { Int(token.count) }

    /// Calls `body` with each member of an object in order. Does nothing for other
    /// kinds.
    public func forEachMember<E: Error>(_ body: (_ key: JSONValue, _ value: JSONValue) throws(E) -> Void) throws(E) {
        let token = token
        guard token.kind == .object else { return }
        var cursor = index + 1
        for _ in 0..<token.count {
            let key = JSONValue(document: document, index: cursor)
            let value = JSONValue(document: document, index: cursor + 1)
            try body(key, value)
            cursor = Int(document.tokens[cursor + 1].next)
        }
    }

    /// Calls `body` with each element of an array and its position. Does nothing
    /// for other kinds.
    public func forEachElement<E: Error>(_ body: (_ position: Int, _ element: JSONValue) throws(E) -> Void) throws(E) {
        let token = token
        guard token.kind == .array else { return }
        var cursor = index + 1
        for position in 0..<Int(token.count) {
            try body(position, JSONValue(document: document, index: cursor))
            cursor = Int(document.tokens[cursor].next)
        }
    }

    /// The value of the first member named `key`, if this is an object.
    public subscript(key: StaticString) -> JSONValue? {
        var found: JSONValue?
        forEachMember { name, value in
            if found == nil, name.isString(key) { found = value }
        }
        return found
    }
}
