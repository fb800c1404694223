import CRdKafka

/// Cluster metadata queries shared by producer and consumer.
enum Metadata {
    /// Fetches metadata for locally known topics; succeeds when a broker answers.
    static func check(_ handle: RdKafkaHandle, timeout: Duration) async throws(KafkaError) {
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        let code = await BlockingCalls.run { () -> rd_kafka_resp_err_t in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(handle.pointer, 0, nil, &metadata, milliseconds)
            if let metadata { rd_kafka_metadata_destroy(metadata) }
            return code
        }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(kind: .metadata, rdError: code) }
    }

    /// The number of partitions of `topic`, from a broker's metadata.
    static func partitionCount(_ handle: RdKafkaHandle, topic: String, timeout: Duration) async throws(KafkaError) -> Int {
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        let (code, count) = await BlockingCalls.run { () -> (rd_kafka_resp_err_t, Int) in
            guard let rkt = rd_kafka_topic_new(handle.pointer, topic, nil) else { return (RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, 0) }
            defer { rd_kafka_topic_destroy(rkt) }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(handle.pointer, 0, rkt, &metadata, milliseconds)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata, metadata.pointee.topic_cnt > 0 else {
                if let metadata { rd_kafka_metadata_destroy(metadata) }
                return (code == RD_KAFKA_RESP_ERR_NO_ERROR ? RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC : code, 0)
            }
            let topicMetadata = metadata.pointee.topics[0]
            let result = topicMetadata.err == RD_KAFKA_RESP_ERR_NO_ERROR ? (RD_KAFKA_RESP_ERR_NO_ERROR, Int(topicMetadata.partition_cnt)) : (topicMetadata.err, 0)
            rd_kafka_metadata_destroy(metadata)
            return result
        }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(kind: .metadata, rdError: code) }
        return count
    }

    /// Asks the partition leader for the low and high watermarks.
    static func watermarks(_ handle: RdKafkaHandle, _ tp: KafkaTopicPartition, timeout: Duration) async throws(KafkaError) -> KafkaWatermarks {
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        let (code, low, high) = await BlockingCalls.run { () -> (rd_kafka_resp_err_t, Int64, Int64) in
            var low: Int64 = 0
            var high: Int64 = 0
            let code = rd_kafka_query_watermark_offsets(handle.pointer, tp.topic, tp.partition, &low, &high, milliseconds)
            return (code, low, high)
        }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(kind: .metadata, rdError: code) }
        return KafkaWatermarks(low: low, high: high)
    }
}
