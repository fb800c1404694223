import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import ServiceSupport

/// `iomt broker`: hosts the dev broker until SIGTERM or SIGINT.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run librdkafka's mock Kafka cluster with the contract's topics (development and tests only).",
        discussion: """
        Prints KAFKA_BROKERS=<bootstrap> on standard output once the topics exist. \
        The cluster is in memory, keeps about 5 MiB per partition and listens on random \
        loopback ports. Production runs Apache Kafka (see compose.yaml).
        """
    )

    @Option(help: "Number of brokers.")
    var brokers: Int = 3

    @Option(name: .customLong("topic"), help: "A topic as name:partitions; repeat. Replaces a contract topic of the same name, adds others.")
    var topics: [String] = []

    @Option(name: .customLong("bootstrap-file"), help: "Also write KAFKA_BROKERS=<bootstrap> to this file (replaced atomically).")
    var bootstrapFile: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (1...16).contains(brokers) else { throw ValidationError("--brokers must be between 1 and 16") }
        for topic in topics where DevBroker.Topic(argument: topic) == nil {
            throw ValidationError("--topic \(topic): expected name:partitions with partitions > 0")
        }
    }

    func run() async throws {
        try logging.bootstrap()
        let logger = Logger(label: "iomt.broker")
        let overrides = topics.compactMap(DevBroker.Topic.init(argument:))
        let broker = try DevBroker(brokers: brokers, topics: DevBroker.Topic.contract(overriddenBy: overrides), logger: logger)
        let line = "KAFKA_BROKERS=\(broker.bootstrapServers)\n"
        if let bootstrapFile {
            try Data(line.utf8).write(to: URL(fileURLWithPath: bootstrapFile), options: .atomic)
        }
        FileHandle.standardOutput.write(Data(line.utf8))
        for topic in broker.topics {
            logger.info("topic ready", metadata: ["topic": "\(topic.name)", "partitions": "\(topic.partitions)"])
        }
        let group = ServiceGroup(
            services: [DevBrokerService(broker: broker)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        try await group.run()
    }
}

/// Keeps the dev broker up until graceful shutdown.
struct DevBrokerService: Service {
    let broker: DevBroker

    func run() async throws {
        try? await gracefulShutdown()
        broker.shutdown()
    }
}
