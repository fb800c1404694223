import Events
import Kafka
import Logging

/// The development and test Kafka broker: librdkafka's mock cluster with the
/// contract's topics created (DESIGN §6, "Dev broker").
///
/// In memory, about 5 MiB retained per partition, random loopback ports, no admin
/// APIs and no real transactions. Production runs Apache Kafka.
public final class DevBroker: Sendable {
    /// Settings a consumer should add against the dev broker. The mock answers a
    /// fetch that finds no data only after `fetch.wait.max.ms` (default 500 ms),
    /// even when records arrive meanwhile, where Apache Kafka answers as soon as
    /// they do; a 10 ms wait keeps a caught-up worker's freshness at tens of
    /// milliseconds. A consumer-only variable, so producers do not warn about it.
    /// Empty when this process's environment or `variables` (what a child gets on
    /// top of it) already set a fetch wait.
    public static func consumerEnvironment(over variables: [String: String] = [:]) -> [String: String] {
        let names = ["KAFKA_CONFIG_FETCH_WAIT_MAX_MS", "KAFKA_CONSUMER_CONFIG_FETCH_WAIT_MAX_MS"]
        let alreadySet = names.contains { ServiceEnvironment.process[$0] != nil || variables[$0] != nil }
        return alreadySet ? [:] : ["KAFKA_CONSUMER_CONFIG_FETCH_WAIT_MAX_MS": "10"]
    }

    /// A topic to create and its partition count.
    public struct Topic: Sendable, Hashable {
        /// Topic name.
        public var name: String
        /// Partition count.
        public var partitions: Int

        /// Creates a topic description.
        public init(name: String, partitions: Int) {
            self.name = name
            self.partitions = partitions
        }

        /// Parses `name:partitions`.
        public init?(argument: String) {
            let parts = argument.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, let partitions = Int(parts[1]), partitions > 0 else { return nil }
            self.init(name: String(parts[0]), partitions: partitions)
        }

        /// The contract's topics with their default partition counts.
        public static let contract: [Topic] = EventTopic.allCases.map { Topic(name: $0.name, partitions: $0.defaultPartitions) }

        /// The contract's topics, with `overrides` replacing same-named entries and
        /// adding new ones.
        public static func contract(overriddenBy overrides: [Topic]) -> [Topic] {
            var topics = contract.filter { topic in !overrides.contains { $0.name == topic.name } }
            topics.append(contentsOf: overrides)
            return topics
        }
    }

    /// The running mock cluster, for fault injection.
    public let cluster: KafkaMockCluster
    /// The topics created.
    public let topics: [Topic]

    /// Starts `brokers` brokers and creates `topics`.
    public init(brokers: Int = 3, topics: [Topic] = Topic.contract, logger: Logger) throws(KafkaError) {
        cluster = try KafkaMockCluster(brokers: brokers, logger: logger)
        for topic in topics {
            try cluster.createTopic(topic.name, partitions: topic.partitions)
        }
        self.topics = topics
    }

    /// The bootstrap servers (`KAFKA_BROKERS`).
    public var bootstrapServers: String { cluster.bootstrapServers }

    /// Stops the brokers.
    public func shutdown() { cluster.shutdown() }
}
