/// How a ``KafkaConsumer`` joins its group and batches messages.
///
/// Offsets are managed by the caller: auto-commit and auto offset store are off, and
/// a caller that stores its own checkpoints answers each ``KafkaAssignment`` with the
/// offsets to start from. Anything not modelled here can be set through
/// ``properties``, which is applied last (TLS and SASL in production).
public struct KafkaConsumerConfiguration: Sendable {
    /// Where to start a partition that has neither a caller-supplied nor a committed
    /// offset (`auto.offset.reset`).
    public enum OffsetReset: String, Sendable {
        /// The oldest retained message.
        case earliest
        /// Only messages produced after the assignment.
        case latest
    }

    /// Comma-separated `host:port` list (`bootstrap.servers`). No default.
    public var bootstrapServers: String
    /// `group.id`. No default: every consumer must name its group.
    public var groupID: String
    /// Topics to subscribe to.
    public var topics: [String]
    /// `client.id`. Default `iomt`.
    public var clientID: String = "iomt"
    /// Largest batch delivered at once. Default 1,000 messages.
    public var maxBatchSize: Int = 1000
    /// Longest time a partial batch waits for more messages, counted from its first
    /// message. Default 50 ms.
    public var maxBatchWait: Duration = .milliseconds(50)
    /// `session.timeout.ms`. Default 45 s. After a member dies, its partitions
    /// move once this passes.
    public var sessionTimeout: Duration = .seconds(45)
    /// `max.poll.interval.ms`. Default 300 s.
    public var maxPollInterval: Duration = .seconds(300)
    /// `auto.offset.reset`. Default `.earliest`: a new group reads the whole log.
    public var offsetReset: OffsetReset = .earliest
    /// `queued.max.messages.kbytes`: prefetch bound per consumer. Default 16,384 KiB.
    public var maxPrefetchKilobytes: Int = 16_384
    /// `fetch.max.bytes`: most bytes one fetch response may carry. Default: a
    /// quarter of ``maxPrefetchKilobytes``, at least 1 MiB (librdkafka's default
    /// is 50 MB). The prefetch bound is checked before each fetch, so one response
    /// can overshoot it by up to this much per broker, and a response's buffer is
    /// freed only when its last message is: in `iomt bench projection --projection
    /// alerts` (8,192 KiB prefetch) the worker's peak RSS was 121–145 MB in six
    /// runs with 2 MiB fetches, against 120–154 MB in eight with librdkafka's
    /// default, at the same rate.
    public var maxFetchBytes: Int?
    /// `fetch.error.backoff.ms`: how long a partition's fetcher waits after a
    /// fetch error. Default 50 ms (librdkafka's 500 ms idles a consumer after every
    /// error). It does not cover a full prefetch queue: librdkafka 2.0.2 then stops
    /// fetching until a broker thread wakes up, up to a second later; see
    /// ``wakesStalledFetchers``.
    public var fetchBackoff: Duration = .milliseconds(50)
    /// Whether a thread of the consumer wakes librdkafka's broker threads while
    /// the prefetch queue drains. Default true. librdkafka 2.0.2 stops fetching
    /// once the queue holds ``maxPrefetchKilobytes`` and looks again only when a
    /// broker thread wakes up, up to a second later, so a consumer faster than
    /// that waited for data its brokers had. With it, the prefetch bound only
    /// needs to hold a few tens of milliseconds of the consumer's rate (see the
    /// module's "librdkafka 2.0.2 defects" notes). Off, only for comparisons.
    public var wakesStalledFetchers = true
    /// `partition.assignment.strategy`. Default `cooperative-sticky`.
    public var assignmentStrategy: String = "cooperative-sticky"
    /// Longest time the consumer waits for the caller to answer a
    /// ``KafkaAssignment`` or ``KafkaRevocation`` before it proceeds with the
    /// default (committed offsets). Default 120 s.
    public var rebalanceReplyTimeout: Duration = .seconds(120)
    /// `socket.nagle.disable`. Default true (librdkafka's own default is
    /// false): small fetch and commit requests are sent at once.
    public var disableNagle = true
    /// Raw librdkafka properties, applied after everything above.
    public var properties: [String: String] = [:]

    /// Creates a configuration for one consumer-group member.
    public init(bootstrapServers: String, groupID: String, topics: [String]) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
        self.topics = topics
    }

    /// The complete librdkafka property list this configuration stands for.
    public var librdkafkaProperties: [(String, String)] {
        var list: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers),
            ("group.id", groupID),
            ("client.id", clientID),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", "false"),
            ("auto.offset.reset", offsetReset.rawValue),
            ("session.timeout.ms", String(sessionTimeout.wholeMilliseconds)),
            ("max.poll.interval.ms", String(maxPollInterval.wholeMilliseconds)),
            ("queued.max.messages.kbytes", String(maxPrefetchKilobytes)),
            ("fetch.max.bytes", String(maxFetchBytes ?? max(1 << 20, maxPrefetchKilobytes * 1024 / 4))),
            ("fetch.error.backoff.ms", String(fetchBackoff.wholeMilliseconds)),
            ("partition.assignment.strategy", assignmentStrategy),
            ("socket.nagle.disable", disableNagle ? "true" : "false"),
        ]
        list.append(contentsOf: properties.sorted { $0.key < $1.key })
        return list
    }
}
