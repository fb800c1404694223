import Testing
@testable import ServiceSupport

@Suite("Kafka settings from the environment")
struct KafkaSettingsTests {
    @Test("KAFKA_CONFIG_ variables become librdkafka properties")
    func passThrough() throws {
        let environment = ServiceEnvironment(variables: [
            "KAFKA_BROKERS": "a:9092,b:9092",
            "KAFKA_CONFIG_SECURITY_PROTOCOL": "ssl",
            "KAFKA_CONFIG_SSL_CA_LOCATION": "/etc/ca.pem",
        ])
        let settings = try KafkaSettings(environment: environment)
        #expect(settings.brokers == "a:9092,b:9092")
        #expect(settings.properties == ["security.protocol": "ssl", "ssl.ca.location": "/etc/ca.pem"])
        let producer = settings.producerConfiguration(clientID: "ingest").librdkafkaProperties
        #expect(producer.last { $0.0 == "security.protocol" }?.1 == "ssl")
    }

    @Test("a missing KAFKA_BROKERS is an error naming the variable")
    func missingBrokers() {
        #expect(throws: ConfigurationError.self) { try KafkaSettings(environment: ServiceEnvironment(variables: [:])) }
        do {
            _ = try KafkaSettings(environment: ServiceEnvironment(variables: [:]))
        } catch {
            #expect(error.setting == "KAFKA_BROKERS")
        }
    }
}
