import Events
import Foundation
import Hummingbird
import ServiceSupport

/// Reads and validates query-string parameters; every refusal is a 400 problem
/// naming the parameter.
struct QueryParameters {
    let request: Request

    func problem(_ name: String, _ reason: String) -> ProblemDetails {
        var writer = JSONWriter()
        writer.beginArray()
        writer.beginObject()
        writer.member("name", name)
        writer.member("reason", reason)
        writer.endObject()
        writer.endArray()
        return ProblemDetails(status: .badRequest, detail: "\(name): \(reason)", extensions: [("invalidParams", writer.bytes)])
    }

    func string(_ name: String, max: Int = 128) throws -> String? {
        guard let raw = request.uri.queryParameters[Substring(name)] else { return nil }
        let value = String(raw)
        guard !value.isEmpty, value.unicodeScalars.count <= max else { throw problem(name, "must be 1 to \(max) characters") }
        // PostgreSQL text cannot hold NUL, and no filter value has control characters.
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw problem(name, "must not contain control characters")
        }
        return value
    }

    func identifier(_ name: String) throws -> String? {
        guard let value = try string(name) else { return nil }
        guard Identifier.isValid(value) else { throw problem(name, "is not a valid identifier") }
        return value
    }

    func choice(_ name: String, _ options: [String]) throws -> String? {
        guard let value = try string(name) else { return nil }
        guard options.contains(value) else { throw problem(name, "must be one of \(options.joined(separator: ", "))") }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = try string(name) else { return nil }
        switch value {
        case "true": return true
        case "false": return false
        default: throw problem(name, "must be true or false")
        }
    }

    func number(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value = try string(name) else { return nil }
        let decimal = value.allSatisfy { $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }
        guard decimal, let number = Double(value), number.isFinite, range.contains(number) else {
            throw problem(name, "must be a number from \(Int(range.lowerBound)) to \(Int(range.upperBound))")
        }
        return number
    }

    var limit: Int {
        get throws {
            guard let value = try string("limit") else { return 50 }
            guard let number = Int(value), (1...500).contains(number) else { throw problem("limit", "must be an integer from 1 to 500") }
            return number
        }
    }

    /// The decoded cursor: the sort key of the last item of the previous page.
    var cursor: String? {
        get throws {
            guard let value = try string("cursor", max: 512) else { return nil }
            guard let key = Cursor.decode(value) else { throw problem("cursor", "is not a cursor returned by this API") }
            return key
        }
    }
}

/// Opaque page cursors: the last sort key, base64url-encoded.
enum Cursor {
    static func encode(_ key: String) -> String {
        Data(key.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ cursor: String) -> String? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let key = String(data: data, encoding: .utf8), !key.isEmpty else { return nil }
        return key
    }
}

/// The identifier format of the event contract.
enum Identifier {
    static func isValid(_ value: String) -> Bool {
        guard let first = value.utf8.first, value.utf8.count <= 128, isAlphanumeric(first) else { return false }
        return value.utf8.allSatisfy { isAlphanumeric($0) || Array("._:@-".utf8).contains($0) }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte &- UInt8(ascii: "0")) < 10 || ((byte | 0x20) &- UInt8(ascii: "a")) < 26
    }
}
