import CRdKafka

/// A partition of a topic.
public struct KafkaTopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Topic name.
    public var topic: String
    /// Partition number.
    public var partition: Int32

    /// Creates a topic-partition.
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    /// Orders by topic, then partition.
    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    /// `topic[partition]`.
    public var description: String { "\(topic)[\(partition)]" }
}

/// Low and high watermarks of a partition: the first retained offset and the offset
/// the next produced record will get.
public struct KafkaWatermarks: Sendable, Hashable {
    /// First retained offset.
    public var low: Int64
    /// Next offset to be written (the log end).
    public var high: Int64

    /// Creates a watermark pair.
    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}

/// Special start positions understood by ``KafkaAssignment/start(at:)``.
public enum KafkaOffset {
    /// The oldest retained record (`RD_KAFKA_OFFSET_BEGINNING`).
    public static let beginning = Int64(RD_KAFKA_OFFSET_BEGINNING)
    /// The log end (`RD_KAFKA_OFFSET_END`).
    public static let end = Int64(RD_KAFKA_OFFSET_END)
    /// The committed offset, or `auto.offset.reset` (`RD_KAFKA_OFFSET_INVALID`).
    public static let committed = Int64(RD_KAFKA_OFFSET_INVALID)
}

/// Builds and reads `rd_kafka_topic_partition_list_t`s. The list is owned by the
/// value and destroyed with it.
final class TopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(capacity, 1)))
    }

    convenience init(_ offsets: [(KafkaTopicPartition, Int64)]) {
        self.init(capacity: offsets.count)
        for (tp, offset) in offsets { add(tp, offset: offset) }
    }

    deinit { rd_kafka_topic_partition_list_destroy(pointer) }

    func add(_ tp: KafkaTopicPartition, offset: Int64 = KafkaOffset.committed) {
        let element = rd_kafka_topic_partition_list_add(pointer, tp.topic, tp.partition)!
        element.pointee.offset = offset
    }

    /// Reads a list librdkafka owns.
    static func partitions(in list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
        let count = Int(list.pointee.cnt)
        return (0..<count).map { index in
            let element = list.pointee.elems[index]
            return KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
        }
    }
}
