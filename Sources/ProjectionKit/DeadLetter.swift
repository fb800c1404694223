import Events
import Foundation
import Kafka

/// Builds dead-letter records (DESIGN §3): the original key, value and headers,
/// plus `dlq_reason`, `dlq_topic`, `dlq_partition`, `dlq_offset`,
/// `dlq_consumer` and `dlq_time`.
enum DeadLetter {
    static func record(for message: KafkaMessage, reason: String, consumer: String, at time: EventTime) -> KafkaProducerRecord {
        var headers = message.headers.filter { !$0.name.hasPrefix("dlq_") }
        headers.append(KafkaHeader(name: "dlq_reason", string: String(reason.prefix(1000))))
        headers.append(KafkaHeader(name: "dlq_topic", string: message.topic))
        headers.append(KafkaHeader(name: "dlq_partition", string: String(message.partition)))
        headers.append(KafkaHeader(name: "dlq_offset", string: String(message.offset)))
        headers.append(KafkaHeader(name: "dlq_consumer", string: consumer))
        headers.append(KafkaHeader(name: "dlq_time", string: time.rfc3339))
        return KafkaProducerRecord(topic: EventTopic.deadLetter.name, key: message.key, value: message.value, headers: headers)
    }
}
