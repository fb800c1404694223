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

    @Test("KAFKA_CONSUMER_CONFIG_ and KAFKA_PRODUCER_CONFIG_ variables reach only their kind of client, over KAFKA_CONFIG_")
    func perClientKind() throws {
        let settings = try KafkaSettings(environment: ServiceEnvironment(variables: [
            "KAFKA_BROKERS": "a:9092",
            "KAFKA_CONFIG_CLIENT_RACK": "rack-1",
            "KAFKA_CONSUMER_CONFIG_FETCH_WAIT_MAX_MS": "10",
            "KAFKA_PRODUCER_CONFIG_BATCH_SIZE": "65536",
            "KAFKA_CONFIG_SOCKET_TIMEOUT_MS": "30000",
            "KAFKA_CONSUMER_CONFIG_SOCKET_TIMEOUT_MS": "20000",
        ]))
        let consumer = Dictionary(settings.consumerConfiguration(clientID: "c", groupID: "g", topics: ["t"]).librdkafkaProperties) { _, last in last }
        let producer = Dictionary(settings.producerConfiguration(clientID: "p").librdkafkaProperties) { _, last in last }
        #expect(consumer["fetch.wait.max.ms"] == "10")
        #expect(producer["fetch.wait.max.ms"] == nil)
        #expect(producer["batch.size"] == "65536")
        #expect(consumer["batch.size"] == nil)
        #expect(consumer["client.rack"] == "rack-1" && producer["client.rack"] == "rack-1")
        #expect(consumer["socket.timeout.ms"] == "20000")
        #expect(producer["socket.timeout.ms"] == "30000")
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
