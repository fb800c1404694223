import CRdKafka

/// An error raised by the Kafka module.
///
/// `description` is safe to log and to show to operators: it never contains message
/// payloads, keys or credentials. `debugDescription` adds librdkafka's own text.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The category of failure.
    public enum Kind: String, Sendable, Hashable {
        /// A configuration property was rejected by librdkafka.
        case configuration
        /// A client handle could not be created.
        case clientCreation
        /// The broker reported an error for a message, or it could not be enqueued.
        case delivery
        /// The operation did not finish before its deadline.
        case timedOut
        /// The client is shutting down or already shut down.
        case closed
        /// A fatal producer error (for example an idempotence violation): the
        /// producer must be recreated.
        case fatal
        /// A consumer-side operation (subscribe, assign, commit, seek) failed.
        case consumer
        /// A metadata or watermark query failed.
        case metadata
        /// The mock cluster rejected an operation.
        case mockCluster
    }

    /// The category of failure.
    public var kind: Kind
    /// librdkafka's numeric error code (`rd_kafka_resp_err_t`), or 0 when the error
    /// did not come from librdkafka.
    public var code: Int32
    /// librdkafka's symbolic name for `code` (for example `MSG_TIMED_OUT`), or a
    /// short token for errors raised by this module.
    public var name: String
    /// Extra developer-facing detail: librdkafka's error string or the offending
    /// configuration property. Never contains payloads.
    public var detail: String

    /// Creates an error value.
    public init(kind: Kind, code: Int32 = 0, name: String, detail: String = "") {
        self.kind = kind
        self.code = code
        self.name = name
        self.detail = detail
    }

    init(kind: Kind, rdError: rd_kafka_resp_err_t, detail: String = "") {
        self.kind = kind
        self.code = rdError.rawValue
        self.name = String(cString: rd_kafka_err2name(rdError))
        self.detail = detail.isEmpty ? String(cString: rd_kafka_err2str(rdError)) : detail
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(kind: Kind, consuming error: OpaquePointer) {
        let code = rd_kafka_error_code(error)
        let detail = String(cString: rd_kafka_error_string(error))
        let fatal = rd_kafka_error_is_fatal(error) != 0
        rd_kafka_error_destroy(error)
        self.init(kind: fatal ? .fatal : kind, rdError: code, detail: detail)
    }

    /// True when retrying the same operation later may succeed (the broker was
    /// unreachable, a leader moved, a deadline passed).
    public var isRetriable: Bool {
        switch kind {
        case .timedOut: return true
        case .delivery, .metadata, .consumer:
            return Self.retriableCodes.contains(code)
        default: return false
        }
    }

    private static let retriableCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue,
        RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue,
        RD_KAFKA_RESP_ERR__TRANSPORT.rawValue,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue,
        RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE.rawValue,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND.rawValue,
        RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE.rawValue,
    ]

    /// A one-line summary safe for logs and operators.
    public var description: String {
        "Kafka \(kind.rawValue) error \(name)"
    }

    /// The summary plus librdkafka's detail text.
    public var debugDescription: String {
        detail.isEmpty ? description : "\(description): \(detail)"
    }

    static let closed = KafkaError(kind: .closed, name: "CLOSED", detail: "the client is shut down")
    static func timedOut(_ detail: String) -> KafkaError {
        KafkaError(kind: .timedOut, code: RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue, name: "TIMED_OUT", detail: detail)
    }
}
