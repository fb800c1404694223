import Events
import Kafka

/// Kafka headers carry CloudEvents attributes in binary content mode.
extension KafkaHeader: EventRecordHeader {}
