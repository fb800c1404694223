/// Records to send together, their keys, values, header names and header values
/// kept in one byte buffer.
///
/// What ``KafkaProducer`` sends. A ``KafkaProducerRecord`` holds its key, value and
/// each header value in arrays of their own: for a request of 500 events that is
/// thousands of small allocations, which dominated the ingest service's CPU, so a
/// producer of large batches builds a batch directly; an array of records is
/// copied into one. Build it record by record: ``append(topic:partition:key:value:)``
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

    /// A batch of `records`, their bytes copied.
    public init(_ records: [KafkaProducerRecord]) {
        self.init(records: records.count, bytesPerRecord: records.first.map { $0.value.count + ($0.key?.count ?? 0) + 16 * $0.headers.count } ?? 0)
        for record in records {
            record.value.withUnsafeBytes { append(topic: record.topic, partition: record.partition, key: record.key, value: $0) }
            for header in record.headers {
                if let value = header.value {
                    value.withUnsafeBytes { appendHeader(name: header.name, value: $0) }
                } else {
                    appendHeader(name: header.name, value: nil)
                }
            }
        }
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
