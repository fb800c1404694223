/// Validating recursive-descent JSON parser (RFC 8259) that fills a token tape.
struct JSONParser {
    static let maximumDepth = 64

    let bytes: UnsafeRawBufferPointer
    var position = 0
    /// The document's token storage, grown here and handed back by
    /// ``finish(into:)`` (no reference counting on the hot path).
    var tokens: TokenBuffer

    init(bytes: UnsafeRawBufferPointer, document: JSONDocument) {
        self.bytes = bytes
        self.tokens = TokenBuffer(storage: document.tokens, count: 0, capacity: document.capacity)
    }

    /// Hands the (possibly reallocated) storage back to the document.
    func finish(into document: JSONDocument) {
        document.tokens = tokens.storage
        document.capacity = tokens.capacity
        document.count = tokens.count
    }

    mutating func parseDocument() throws(JSONSyntaxError) {
        guard bytes.count < Int(UInt32.max) else { throw failure("text larger than 4 GiB") }
        skipWhitespace()
        try parseValue(depth: 0)
        skipWhitespace()
        guard position == bytes.count else { throw failure("unexpected data after the JSON value") }
    }

    private func failure(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: position, reason: reason)
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONSyntaxError) {
        guard position < bytes.count else { throw failure("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): try parseString()
        case UInt8(ascii: "t"): try parseLiteral("true", kind: .bool, flag: true)
        case UInt8(ascii: "f"): try parseLiteral("false", kind: .bool, flag: false)
        case UInt8(ascii: "n"): try parseLiteral("null", kind: .null, flag: false)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try parseNumber()
        default: throw failure("unexpected character")
        }
    }

    private mutating func parseLiteral(_ literal: StaticString, kind: JSONDocument.Kind, flag: Bool) throws(JSONSyntaxError) {
        let length = literal.utf8CodeUnitCount
        guard position + length <= bytes.count else { throw failure("invalid literal") }
        let literalBytes = UnsafeRawBufferPointer(start: literal.utf8Start, count: length)
        for index in 0..<length where bytes[position + index] != literalBytes[index] {
            throw failure("invalid literal")
        }
        let start = UInt32(position)
        position += length
        tokens.append(.init(kind: kind, flag: flag, start: start, end: UInt32(position), next: UInt32(tokens.count + 1), count: 0))
    }

    private mutating func parseNumber() throws(JSONSyntaxError) {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { throw failure("invalid number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else if isDigit(bytes[position]) {
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        } else {
            throw failure("invalid number")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw failure("invalid number: digit expected after '.'") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else { throw failure("invalid number: digit expected in exponent") }
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        }
        tokens.append(.init(kind: .number, flag: false, start: UInt32(start), end: UInt32(position), next: UInt32(tokens.count + 1), count: 0))
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    private mutating func parseString() throws(JSONSyntaxError) {
        position += 1  // opening quote
        let start = position
        var escaped = false
        while true {
            guard position < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                position += 1
                guard position < bytes.count else { throw failure("unterminated string") }
                switch bytes[position] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 1
                case UInt8(ascii: "u"):
                    guard position + 4 < bytes.count else { throw failure("invalid \\u escape") }
                    for offset in 1...4 where JSONString.hexValue(bytes[position + offset]) == nil {
                        throw failure("invalid \\u escape")
                    }
                    position += 5
                default:
                    throw failure("invalid escape")
                }
                continue
            }
            guard byte >= 0x20 else { throw failure("control character in string") }
            position += 1
        }
        tokens.append(.init(kind: .string, flag: escaped, start: UInt32(start), end: UInt32(position), next: UInt32(tokens.count + 1), count: 0))
        position += 1  // closing quote
    }

    private mutating func parseObject(depth: Int) throws(JSONSyntaxError) {
        guard depth <= Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth)") }
        let index = tokens.count
        tokens.append(.init(kind: .object, flag: false, start: UInt32(position), end: 0, next: 0, count: 0))
        position += 1
        skipWhitespace()
        var count: UInt32 = 0
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("expected an object key") }
                try parseString()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw failure("expected ':' after an object key") }
                position += 1
                skipWhitespace()
                try parseValue(depth: depth)
                count += 1
                skipWhitespace()
                guard position < bytes.count else { throw failure("unterminated object") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    skipWhitespace()
                    continue
                }
                guard bytes[position] == UInt8(ascii: "}") else { throw failure("expected ',' or '}' in object") }
                position += 1
                break
            }
        }
        tokens.storage[index].end = UInt32(position)
        tokens.storage[index].next = UInt32(tokens.count)
        tokens.storage[index].count = count
    }

    private mutating func parseArray(depth: Int) throws(JSONSyntaxError) {
        guard depth <= Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth)") }
        let index = tokens.count
        tokens.append(.init(kind: .array, flag: false, start: UInt32(position), end: 0, next: 0, count: 0))
        position += 1
        skipWhitespace()
        var count: UInt32 = 0
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
        } else {
            while true {
                try parseValue(depth: depth)
                count += 1
                skipWhitespace()
                guard position < bytes.count else { throw failure("unterminated array") }
                if bytes[position] == UInt8(ascii: ",") {
                    position += 1
                    skipWhitespace()
                    continue
                }
                guard bytes[position] == UInt8(ascii: "]") else { throw failure("expected ',' or ']' in array") }
                position += 1
                break
            }
        }
        tokens.storage[index].end = UInt32(position)
        tokens.storage[index].next = UInt32(tokens.count)
        tokens.storage[index].count = count
    }
}

/// A growable token array over manually managed memory.
struct TokenBuffer {
    var storage: UnsafeMutablePointer<JSONDocument.Token>
    var count: Int
    var capacity: Int

    @inline(__always)
    mutating func append(_ token: JSONDocument.Token) {
        if count == capacity { grow() }
        (storage + count).initialize(to: token)
        count += 1
    }

    private mutating func grow() {
        let larger = UnsafeMutablePointer<JSONDocument.Token>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = larger
        capacity *= 2
    }
}
