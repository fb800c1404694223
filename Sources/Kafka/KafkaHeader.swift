/// One Kafka record header: a name and an optional binary value.
public struct KafkaHeader: Sendable, Hashable {
    /// Header name, for example `ce_type`.
    public var name: String
    /// Header value bytes; `nil` for a header present without a value.
    public var value: [UInt8]?

    /// Creates a header with a binary value.
    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    /// Creates a header whose value is the UTF-8 encoding of `string`.
    public init(name: String, string: String) {
        self.name = name
        self.value = Array(string.utf8)
    }

    /// The value decoded as UTF-8, or `nil` when absent.
    public var stringValue: String? {
        value.map { String(decoding: $0, as: UTF8.self) }
    }
}

extension Array where Element == KafkaHeader {
    /// The value of the first header with this name, decoded as UTF-8.
    public func string(for name: String) -> String? {
        first { $0.name == name }?.stringValue
    }
}
