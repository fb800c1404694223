import Foundation
import Kafka

/// Kafka connection settings shared by every service (DESIGN §7).
///
/// - `KAFKA_BROKERS`: bootstrap servers, required.
/// - `KAFKA_CONFIG_<property>`: any librdkafka property, passed through unchanged
///   for TLS and SASL. The property name is the rest of the variable name in lower
///   case with `_` read as `.`: `KAFKA_CONFIG_SECURITY_PROTOCOL=ssl` sets
///   `security.protocol=ssl`, `KAFKA_CONFIG_SSL_CA_LOCATION=/etc/ca.pem` sets
///   `ssl.ca.location`.
public struct KafkaSettings: Sendable {
    /// Bootstrap servers.
    public var brokers: String
    /// Raw librdkafka properties applied on top of every client's configuration.
    public var properties: [String: String]

    /// Creates settings directly.
    public init(brokers: String, properties: [String: String] = [:]) {
        self.brokers = brokers
        self.properties = properties
    }

    /// Reads `KAFKA_BROKERS` and `KAFKA_CONFIG_*`.
    public init(environment: ServiceEnvironment) throws(ConfigurationError) {
        self.brokers = try environment.required("KAFKA_BROKERS")
        var properties: [String: String] = [:]
        for (suffix, value) in environment.withPrefix("KAFKA_CONFIG_") {
            properties[Self.propertyName(fromVariableSuffix: suffix)] = value
        }
        self.properties = properties
    }

    /// `SSL_CA_LOCATION` → `ssl.ca.location`.
    public static func propertyName(fromVariableSuffix suffix: String) -> String {
        suffix.lowercased().replacingOccurrences(of: "_", with: ".")
    }

    /// A producer configuration with these settings.
    public func producerConfiguration(clientID: String) -> KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration(bootstrapServers: brokers)
        configuration.clientID = clientID
        configuration.properties = properties
        return configuration
    }

    /// A consumer configuration with these settings.
    public func consumerConfiguration(clientID: String, groupID: String, topics: [String]) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: brokers, groupID: groupID, topics: topics)
        configuration.clientID = clientID
        configuration.properties = properties
        return configuration
    }
}
