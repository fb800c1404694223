/// Records to send together, their keys, values, header names and header values
/// kept in one byte buffer.
///
/// A ``KafkaProducerRecord`` holds its key, value and each header value in arrays
/// of their own: for a request of 500 events that is thousands of small
/// allocations, which dominated the ingest service's CPU. A batch makes one
/// growing buffer instead. Build it record by record: ``append(topic:partition:key:value:)``
/// starts a record, ``appendHeader(name:value:)`` adds a header to the record
/// appended last. Send it with ``KafkaProducer/send(_:timeout:)-(KafkaRecordBatch,_)``.
public struct KafkaRecordBatch: Sendable {
    struct Record: Sendable {
        var topic: String
        var partition: Int32?
        var key: Range<Int>?
        var value: Range<Int>
        /// Indices into `headers`.
        var headers: Range<Int>
    }

    struct Header: Sendable {
        /// The name's bytes, followed by a NUL in `bytes` (librdkafka takes C strings).
        var name: Range<Int>
        var value: Range<Int>?
    }

    private(set) var bytes: [UInt8] = []
    private(set) var records: [Record] = []
    private(set) var headers: [Header] = []

    /// An empty batch with room for `records` records of about `bytesPerRecord`
    /// bytes (key, value and headers together).
    public init(records: Int = 0, bytesPerRecord: Int = 0) {
        self.records.reserveCapacity(records)
        bytes.reserveCapacity(records * bytesPerRecord)
        headers.reserveCapacity(records * 6)
    }

    /// Number of records.
    public var count: Int { records.count }

    /// The topic of record `index`.
    public func topic(at index: Int) -> String { records[index].topic }

    /// Starts a record: `key` and `value` are copied into the batch.
    public mutating func append(topic: String, partition: Int32? = nil, key: (some Collection<UInt8>)?, value: UnsafeRawBufferPointer) {
        let keyRange = key.map { key in
            let start = bytes.count
            bytes.append(contentsOf: key)
            return start..<bytes.count
        }
        let valueStart = bytes.count
        bytes.append(contentsOf: value)
        records.append(Record(topic: topic, partition: partition, key: keyRange, value: valueStart..<bytes.count, headers: headers.count..<headers.count))
    }

    /// Adds a header to the record appended last.
    public mutating func appendHeader(name: String, value: UnsafeRawBufferPointer?) {
        precondition(!records.isEmpty, "appendHeader before any record")
        let nameStart = bytes.count
        bytes.append(contentsOf: name.utf8)
        let nameEnd = bytes.count
        bytes.append(0)
        let valueRange = value.map { value in
            let start = bytes.count
            bytes.append(contentsOf: value)
            return start..<bytes.count
        }
        headers.append(Header(name: nameStart..<nameEnd, value: valueRange))
        records[records.count - 1].headers = records[records.count - 1].headers.lowerBound..<headers.count
    }
}
