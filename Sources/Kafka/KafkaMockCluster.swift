import CRdKafka
import Logging
import Synchronization

/// librdkafka's in-process mock Kafka cluster (`rdkafka_mock.h`), for development
/// and tests.
///
/// It listens on random loopback ports (read ``bootstrapServers``), keeps about
/// 5 MiB per partition in memory, and does not implement admin APIs (CreateTopics,
/// DescribeGroups, ListGroups) or real transactions: create topics with
/// ``createTopic(_:partitions:replicationFactor:)``. Unknown topics are created on
/// first use with 4 partitions.
///
/// It checks producer sequence numbers only for transactional producers, so it
/// does not drop an idempotent producer's resent batch the way Apache Kafka does:
/// when a dropped connection (``InjectedError/disconnect``, ``setBrokerDown(_:)``)
/// loses the answer to a request it had already written, the resend is written
/// again. Duplicates seen on the mock after such faults are not duplicates on Kafka.
///
/// Lifecycle: the cluster lives until ``shutdown()`` (or deinit). Clients connected
/// to it see their brokers disappear.
public final class KafkaMockCluster: Sendable {
    /// Kafka protocol request types that faults can be injected into.
    public struct RequestType: Sendable, Hashable {
        /// The Kafka API key.
        public var apiKey: Int16
        /// Creates a request type from its Kafka API key.
        public init(apiKey: Int16) { self.apiKey = apiKey }
        /// Produce (0).
        public static let produce = RequestType(apiKey: 0)
        /// Fetch (1).
        public static let fetch = RequestType(apiKey: 1)
        /// ListOffsets (2).
        public static let listOffsets = RequestType(apiKey: 2)
        /// Metadata (3).
        public static let metadata = RequestType(apiKey: 3)
        /// OffsetCommit (8).
        public static let offsetCommit = RequestType(apiKey: 8)
        /// OffsetFetch (9).
        public static let offsetFetch = RequestType(apiKey: 9)
        /// FindCoordinator (10).
        public static let findCoordinator = RequestType(apiKey: 10)
        /// JoinGroup (11).
        public static let joinGroup = RequestType(apiKey: 11)
        /// Heartbeat (12).
        public static let heartbeat = RequestType(apiKey: 12)
        /// InitProducerId (22).
        public static let initProducerID = RequestType(apiKey: 22)
    }

    /// Broker-side errors that can be injected.
    public struct InjectedError: Sendable, Hashable {
        /// librdkafka's error code.
        public var code: Int32
        /// Creates an injected error from a librdkafka error code.
        public init(code: Int32) { self.code = code }
        /// NOT_LEADER_FOR_PARTITION: the client refreshes metadata and retries.
        public static let notLeaderForPartition = InjectedError(code: RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue)
        /// REQUEST_TIMED_OUT: retriable broker timeout.
        public static let requestTimedOut = InjectedError(code: RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue)
        /// NOT_ENOUGH_REPLICAS: retriable, the write was not stored.
        public static let notEnoughReplicas = InjectedError(code: RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue)
        /// NOT_ENOUGH_REPLICAS_AFTER_APPEND: retriable, the write may have been
        /// stored (idempotence makes the retry safe).
        public static let notEnoughReplicasAfterAppend = InjectedError(code: RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND.rawValue)
        /// LEADER_NOT_AVAILABLE: retriable.
        public static let leaderNotAvailable = InjectedError(code: RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE.rawValue)
        /// ILLEGAL_GENERATION: on Heartbeat, the member's generation is over and
        /// its assignment is lost (it rejoins).
        public static let illegalGeneration = InjectedError(code: RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION.rawValue)
        /// A connection drop (`_TRANSPORT`).
        public static let disconnect = InjectedError(code: RD_KAFKA_RESP_ERR__TRANSPORT.rawValue)
    }

    private let handle: RdKafkaHandle
    private let cluster: Mutex<MockClusterPointer?>
    /// The cluster's `bootstrap.servers` list (`127.0.0.1:port,...`).
    public let bootstrapServers: String
    /// Number of brokers, with ids 1 through `brokerCount`.
    public let brokerCount: Int

    /// Starts a cluster of `brokers` brokers.
    public init(brokers: Int = 3, logger: Logger = Logger(label: "iomt.kafka.mock")) throws(KafkaError) {
        // The mock cluster needs a client instance for its bookkeeping; it is not
        // used to produce anything.
        handle = try RdKafkaHandle(
            type: RD_KAFKA_PRODUCER,
            properties: [("client.id", "iomt-mock-cluster"), ("log_level", "4")],
            callbacks: RdKafkaCallbacks(logger: logger)
        )
        guard let pointer = rd_kafka_mock_cluster_new(handle.pointer, Int32(brokers)) else {
            handle.destroy()
            throw KafkaError(kind: .mockCluster, name: "MOCK_CLUSTER", detail: "rd_kafka_mock_cluster_new failed")
        }
        cluster = Mutex(MockClusterPointer(pointer: pointer))
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(pointer))
        brokerCount = brokers
    }

    deinit {
        if let pointer = cluster.withLock({ $0.take() }) {
            rd_kafka_mock_cluster_destroy(pointer.pointer)
            handle.destroy()
        }
    }

    /// Stops the cluster's brokers and frees it. Blocks briefly while its threads
    /// stop.
    public func shutdown() {
        guard let pointer = cluster.withLock({ $0.take() }) else { return }
        rd_kafka_mock_cluster_destroy(pointer.pointer)
        handle.destroy()
    }

    /// Creates a topic with `partitions` partitions.
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        try check(withCluster { rd_kafka_mock_topic_create($0, name, Int32(partitions), Int32(replicationFactor)) })
    }

    /// Takes a broker down: its connections close and it refuses new ones.
    /// Partition leadership does not move.
    public func setBrokerDown(_ brokerID: Int32) throws(KafkaError) {
        try check(withCluster { rd_kafka_mock_broker_set_down($0, brokerID) })
    }

    /// Brings a broker back up.
    public func setBrokerUp(_ brokerID: Int32) throws(KafkaError) {
        try check(withCluster { rd_kafka_mock_broker_set_up($0, brokerID) })
    }

    /// Adds a round-trip delay to every response from a broker.
    public func setBrokerRoundTrip(_ brokerID: Int32, _ delay: Duration) throws(KafkaError) {
        try check(withCluster { rd_kafka_mock_broker_set_rtt($0, brokerID, Int32(delay.wholeMilliseconds)) })
    }

    /// Makes `brokerID` the leader of a partition.
    public func setPartitionLeader(topic: String, partition: Int32, brokerID: Int32) throws(KafkaError) {
        try check(withCluster { rd_kafka_mock_partition_set_leader($0, topic, partition, brokerID) })
    }

    /// Makes `brokerID` the coordinator of a consumer group.
    public func setGroupCoordinator(group: String, brokerID: Int32) throws(KafkaError) {
        try check(withCluster { rd_kafka_mock_coordinator_set($0, "group", group, brokerID) })
    }

    /// Makes the next requests of a type fail, one injected error per request, in
    /// order, on whichever broker receives them.
    public func pushRequestErrors(_ request: RequestType, _ errors: [InjectedError]) throws(KafkaError) {
        var codes = errors.map { rd_kafka_resp_err_t(rawValue: $0.code) }
        let applied: Bool = withCluster { cluster in
            codes.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_mock_push_request_errors_array(cluster, request.apiKey, buffer.count, buffer.baseAddress)
            }
            return true
        } ?? false
        if !applied { throw .closed }
    }

    /// True until ``shutdown()``.
    public var isRunning: Bool { cluster.withLock { $0 != nil } }

    private func withCluster<T: Sendable>(_ body: (OpaquePointer) -> T) -> T? {
        cluster.withLock { pointer -> T? in
            guard let pointer else { return nil }
            return body(pointer.pointer)
        }
    }

    private func check(_ code: rd_kafka_resp_err_t?) throws(KafkaError) {
        guard let code else { throw .closed }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(kind: .mockCluster, rdError: code) }
    }
}

private struct MockClusterPointer: @unchecked Sendable {
    // @unchecked: mock cluster calls are thread-safe; the Mutex around the optional
    // serialises destruction against use.
    let pointer: OpaquePointer
}
