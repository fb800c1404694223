/// A record to produce.
public struct KafkaProducerRecord: Sendable {
    /// Destination topic.
    public var topic: String
    /// Destination partition; `nil` lets the configured partitioner pick one from
    /// the key (the same key always lands on the same partition).
    public var partition: Int32?
    /// Partitioning key.
    public var key: [UInt8]?
    /// Record value.
    public var value: [UInt8]
    /// Record headers, in order.
    public var headers: [KafkaHeader]

    /// Creates a record.
    public init(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// Creates a record whose key is the UTF-8 encoding of a string.
    public init(topic: String, key: String, value: [UInt8], headers: [KafkaHeader] = []) {
        self.init(topic: topic, key: Array(key.utf8), value: value, headers: headers)
    }
}

/// Where the broker stored a produced record.
public struct KafkaDeliveryReport: Sendable, Hashable {
    /// Topic written.
    public var topic: String
    /// Partition written.
    public var partition: Int32
    /// Offset assigned by the partition leader.
    public var offset: Int64

    /// Creates a report.
    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}
