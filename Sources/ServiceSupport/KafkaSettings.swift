import Foundation
import Kafka

/// Kafka connection settings shared by every service (DESIGN §7).
///
/// - `KAFKA_BROKERS`: bootstrap servers, required.
/// - `KAFKA_CONFIG_<property>`: any librdkafka property, passed through unchanged
///   to every producer and consumer, for TLS and SASL. The property name is the
///   rest of the variable name in lower case with `_` read as `.`:
///   `KAFKA_CONFIG_SECURITY_PROTOCOL=ssl` sets `security.protocol=ssl`,
///   `KAFKA_CONFIG_SSL_CA_LOCATION=/etc/ca.pem` sets `ssl.ca.location`.
/// - `KAFKA_CONSUMER_CONFIG_<property>` and `KAFKA_PRODUCER_CONFIG_<property>`: the
///   same, for consumers only or producers only (librdkafka warns about a
///   consumer property given to a producer, and the other way round). They win
///   over `KAFKA_CONFIG_` for the same property.
public struct KafkaSettings: Sendable {
    /// Bootstrap servers.
    public var brokers: String
    /// Raw librdkafka properties applied on top of every client's configuration.
    public var properties: [String: String]
    /// Raw librdkafka properties for consumers only, applied after ``properties``.
    public var consumerProperties: [String: String]
    /// Raw librdkafka properties for producers only, applied after ``properties``.
    public var producerProperties: [String: String]

    /// Creates settings directly.
    public init(brokers: String, properties: [String: String] = [:], consumerProperties: [String: String] = [:], producerProperties: [String: String] = [:]) {
        self.brokers = brokers
        self.properties = properties
        self.consumerProperties = consumerProperties
        self.producerProperties = producerProperties
    }

    /// Reads `KAFKA_BROKERS`, `KAFKA_CONFIG_*`, `KAFKA_CONSUMER_CONFIG_*` and
    /// `KAFKA_PRODUCER_CONFIG_*`.
    public init(environment: ServiceEnvironment) throws(ConfigurationError) {
        func properties(_ prefix: String) -> [String: String] {
            var properties: [String: String] = [:]
            for (suffix, value) in environment.withPrefix(prefix) {
                properties[Self.propertyName(fromVariableSuffix: suffix)] = value
            }
            return properties
        }
        self.init(
            brokers: try environment.required("KAFKA_BROKERS"),
            properties: properties("KAFKA_CONFIG_"),
            consumerProperties: properties("KAFKA_CONSUMER_CONFIG_"),
            producerProperties: properties("KAFKA_PRODUCER_CONFIG_")
        )
    }

    /// `SSL_CA_LOCATION` → `ssl.ca.location`.
    public static func propertyName(fromVariableSuffix suffix: String) -> String {
        suffix.lowercased().replacingOccurrences(of: "_", with: ".")
    }

    /// A producer configuration with these settings.
    public func producerConfiguration(clientID: String) -> KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration(bootstrapServers: brokers)
        configuration.clientID = clientID
        configuration.properties = properties.merging(producerProperties) { _, own in own }
        return configuration
    }

    /// A consumer configuration with these settings.
    public func consumerConfiguration(clientID: String, groupID: String, topics: [String]) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: brokers, groupID: groupID, topics: topics)
        configuration.clientID = clientID
        configuration.properties = properties.merging(consumerProperties) { _, own in own }
        return configuration
    }
}
