import Events
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import ServiceSupport

/// A projection plugin: what it consumes and how it folds a batch of events into
/// its own PostgreSQL schema. Everything else — group membership, checkpoints,
/// fencing, retries, dead letters, metrics, rebuild — is the runtime's
/// (``ProjectionRuntime``), so a new projection needs no change to the runtime.
///
/// Rules for implementations:
/// - write only tables in ``schema``;
/// - in ``apply(_:in:)``, fold the batch in memory and write each key once with
///   bulk statements (see ``BulkRows``), never one statement per event;
/// - let event time decide "latest": a late event never overwrites newer state;
/// - throw only for failures worth retrying (the runtime retries the whole batch);
///   report events that can never be applied with
///   ``ProjectionContext/deadLetter(_:reason:)``.
public protocol Projection: Sendable {
    /// Name, e.g. `patient-state`: the consumer group is `iomt.<name>`, and the
    /// name keys checkpoints and migrations.
    var name: String { get }
    /// The PostgreSQL schema the projection owns, e.g. `patient_state`.
    var schema: String { get }
    /// Topics consumed.
    var topics: [EventTopic] { get }
    /// Event types applied; other types on the topics are skipped.
    var eventTypes: Set<EventType> { get }
    /// Versioned migrations creating and evolving ``schema``.
    var migrations: [Migration] { get }
    /// Event types that ``apply(_:in:)`` may send to the dead-letter topic. The
    /// runtime keeps the original records of these types until their batch
    /// commits, so a dead letter carries the bytes that arrived; other records are
    /// released as soon as they are decoded, which bounds a worker's memory. The
    /// default is none.
    var deadLetterTypes: Set<EventType> { get }
    /// Applies one batch inside the runtime's transaction, which also advances the
    /// checkpoints: either both commit or neither does.
    func apply(_ events: [ProjectedEvent], in context: ProjectionContext) async throws
    /// Whether ``prepare(_:)`` does anything. When true, the runtime takes the next
    /// full batch while the current one's statements run (once the projection
    /// calls ``ProjectionContext/evaluationFinished()``) and prepares it, so CPU
    /// work of one batch overlaps the database work of the previous one. The
    /// default is false.
    var preparesAhead: Bool { get }
    /// Whether the runtime returns the allocator's free memory to the system
    /// after freeing each applied batch (`AllocatorTuning.releaseFreeMemory()`),
    /// trading some CPU for a lower peak RSS. The default is false.
    var releasesFreedMemory: Bool { get }
    /// Work on a batch that needs no I/O, done ahead of its transaction from what
    /// the projection holds in memory, possibly while the previous batch's
    /// transaction is still running (after its ``ProjectionContext/evaluationFinished()``),
    /// and before the runtime knows that batch will commit. The result reaches
    /// ``apply(_:prepared:in:)`` with exactly these events, once per attempt (a
    /// retried batch gets it again); the projection must check there, under its
    /// locks, that what it assumed still holds. The default prepares nothing.
    func prepare(_ events: [ProjectedEvent]) async -> (any Sendable)?
    /// Applies a batch with what ``prepare(_:)`` made of it (nil when the runtime
    /// prepared nothing: the first batch, or one whose events changed since, e.g.
    /// after fencing). The default ignores `prepared` and calls ``apply(_:in:)``.
    func apply(_ events: [ProjectedEvent], prepared: (any Sendable)?, in context: ProjectionContext) async throws
    /// How often the runtime calls ``tick(in:)`` for time-driven rules; nil (the
    /// default) for never. Ticks run between batches, in their own transaction,
    /// only while the worker has caught up with its partitions, so a replay never
    /// judges old events by the wall clock.
    var tickInterval: Duration? { get }
    /// The consumer's prefetch bound in KiB when `WORKER_PREFETCH_KB` is unset.
    /// The consumer wakes librdkafka's fetchers while the queue drains (the Kafka
    /// module's `FetchWaker`), so the bound only needs to cover a fetch round trip
    /// at the worker's rate. The default, 4,096, in `iomt bench projection` with
    /// the waker (events/s, peak RSS in MB; one or two runs per setting):
    /// patient-state 94,000–107,000 (87–93), against 94,000 (128) at 16,384;
    /// asset-inventory 145,000–153,000 (89–90), against 156,000 (122) at 16,384;
    /// alerts 58,000–64,000 (133–137), against 55,000–61,000 (130–132) at 2,048
    /// (its earlier default was 8,192). Before the waker, a queue that emptied
    /// waited up to a second for the next fetch, and the bound had to hold about
    /// a second of the worker's rate.
    var defaultPrefetchKilobytes: Int { get }
    /// Most events per batch when `WORKER_BATCH_MAX_EVENTS` is unset. The default,
    /// 10,000, suits a projection whose cost per batch is mostly per event; one that
    /// writes every subject it touched once per batch says more, so a batch folds
    /// more events into each write.
    var defaultBatchMaxEvents: Int { get }
    /// Applies what has fallen due by ``ProjectionContext/now``.
    func tick(in context: ProjectionContext) async throws
    /// Extra services the worker runs next to the runtime (an outbox relay, …).
    func services(configuration: WorkerConfiguration, postgres: PostgresClient, logger: Logger) throws -> [any Service]
}

extension Projection {
    /// False.
    public var preparesAhead: Bool { false }
    /// False.
    public var releasesFreedMemory: Bool { false }
    /// Nothing.
    public func prepare(_ events: [ProjectedEvent]) async -> (any Sendable)? { nil }
    /// ``apply(_:in:)``.
    public func apply(_ events: [ProjectedEvent], prepared: (any Sendable)?, in context: ProjectionContext) async throws {
        try await apply(events, in: context)
    }
    /// None: the projection applies every valid event it consumes.
    public var deadLetterTypes: Set<EventType> { [] }
    /// No ticks.
    public var tickInterval: Duration? { nil }
    /// 4,096 KiB.
    public var defaultPrefetchKilobytes: Int { 4096 }
    /// 10,000 events.
    public var defaultBatchMaxEvents: Int { 10_000 }
    /// Nothing falls due.
    public func tick(in context: ProjectionContext) async throws {}
    /// No extra services.
    public func services(configuration: WorkerConfiguration, postgres: PostgresClient, logger: Logger) throws -> [any Service] { [] }
}

/// One decoded event of a batch and where it came from.
public struct ProjectedEvent: Sendable {
    /// The event.
    public var event: Event
    /// The topic and partition of the source record.
    public var topicPartition: KafkaTopicPartition
    /// The offset of the source record.
    public var offset: Int64
    /// The source record as it arrived, kept only for the projection's
    /// ``Projection/deadLetterTypes``.
    public var record: KafkaMessage? {
        get { kept?.message }
        set { kept = newValue.map(KeptRecord.init) }
    }
    /// The kept record, boxed: most events keep none, and a batch holds tens of
    /// thousands of events, so the rare record does not make every event larger.
    private var kept: KeptRecord?

    /// Creates a projected event from its source record, keeping the record
    /// itself only when `keepingRecord` is true.
    public init(event: Event, message: KafkaMessage, keepingRecord: Bool = true) {
        self.event = event
        self.topicPartition = message.topicPartition
        self.offset = message.offset
        self.kept = keepingRecord ? KeptRecord(message: message) : nil
    }

    /// An event applied outside a worker (``Projection/applyStandalone(_:prepared:client:logger:now:)``
    /// in benchmarks and tools): it comes from no record, so its position is a
    /// placeholder (topic `""`, partition 0, offset 0).
    public init(standalone event: Event) {
        self.init(event: event, message: KafkaMessage(topic: "", partition: 0, offset: 0, key: nil, value: [], headers: []), keepingRecord: false)
    }

    /// The record to dead-letter: the original when it was kept; otherwise the
    /// event encoded again in binary mode (same `ce_id`, `ce_source` and key).
    var deadLetterSource: KafkaMessage {
        record ?? KafkaMessage(
            topic: topicPartition.topic, partition: topicPartition.partition, offset: offset,
            key: EventRecord.key(for: event), value: EventRecord.value(for: event),
            headers: EventRecord.headers(for: event)
        )
    }
}

/// A kept source record (see ``ProjectedEvent/record``).
private final class KeptRecord: Sendable {
    let message: KafkaMessage

    init(message: KafkaMessage) {
        self.message = message
    }
}

/// What a projection gets while applying a batch: the transaction's connection
/// and a way to send events it cannot apply to the dead-letter topic.
public final class ProjectionContext: @unchecked Sendable {
    // @unchecked: used by one task at a time (the batch being applied); the
    // runtime reads `deadLetters` only after `apply` returns.
    /// The connection, inside the batch's transaction.
    public let connection: PostgresConnection
    /// The worker's logger.
    public let logger: Logger
    /// The clock time the batch is applied at (for time-driven rules).
    public let now: EventTime
    /// True when the worker had applied everything in its partitions before this
    /// batch or tick (the log end it knew of).
    public let caughtUp: Bool
    var deadLetters: [(ProjectedEvent, String)] = []
    /// Told when the batch's evaluation is final (see ``evaluationFinished()``).
    private let onEvaluated: (@Sendable () -> Void)?

    init(connection: PostgresConnection, logger: Logger, now: EventTime, caughtUp: Bool = false, onEvaluated: (@Sendable () -> Void)? = nil) {
        self.connection = connection
        self.logger = logger
        self.now = now
        self.caughtUp = caughtUp
        self.onEvaluated = onEvaluated
    }

    /// Tells the runtime that this batch's result is final and held in the
    /// projection's memory, so ``Projection/prepare(_:)`` of the next batch may
    /// start from it while this batch's statements run. Only projections that
    /// prepare ahead call it; calling it again does nothing.
    public func evaluationFinished() {
        onEvaluated?()
    }

    /// Sends `event` to the dead-letter topic with `reason` (safe text, no patient
    /// data) instead of applying it. Written before the batch commits.
    public func deadLetter(_ event: ProjectedEvent, reason: String) {
        deadLetters.append((event, reason))
    }

    /// Runs a statement in the batch's transaction and returns its rows, to be
    /// read: PostgreSQL reports a failure while executing a statement that
    /// returns rows with those rows. For a statement whose rows are not wanted,
    /// ``execute(_:)``.
    public func query(_ query: PostgresQuery) async throws -> PostgresRowSequence {
        try await connection.query(query, logger: logger)
    }

    /// Runs a statement in the batch's transaction, reading and dropping any
    /// rows it returns, so that its failure is thrown here
    /// (`PostgresConnection.execute(_:logger:)`).
    public func execute(_ query: PostgresQuery) async throws {
        try await connection.execute(query, logger: logger)
    }

    /// Takes a transaction-scoped advisory lock per key, `(namespace,
    /// hashtext(key))`, in hash order, so that workers locking overlapping keys
    /// never wait on each other in a cycle. Taking them can fail, for example
    /// with "out of shared memory" when PostgreSQL's lock table is too small
    /// (see the README's scaling notes); the failure is thrown here.
    public func lock(_ keys: [String], namespace: Int32) async throws {
        guard !keys.isEmpty else { return }
        try await execute("""
            SELECT count(pg_advisory_xact_lock(\(namespace), h)) FROM (
                SELECT DISTINCT hashtext(k) AS h FROM unnest(\(keys)::text[]) AS u(k) ORDER BY 1
            ) AS keys
            """)
    }

    /// Runs write statements in the order `produce` hands them over, each while
    /// `produce` builds the next: PostgreSQL executes one statement while this
    /// process serializes the rows of the next, instead of one waiting for the
    /// other. At most one statement is in flight and one being built, so only two
    /// statements' rows are in memory at a time. Results are read and discarded:
    /// PostgreSQL reports a failure while executing a statement that returns
    /// rows with those rows, so an unread result would lose it (the transaction
    /// aborted, and only a later statement, if any, failing for that). The first
    /// failure is thrown (the transaction is then aborted and the batch retried).
    public func pipelined(_ produce: (_ send: (PostgresQuery) async throws -> Void) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var inFlight = false
            try await produce { query in
                if inFlight { try await group.next() }
                group.addTask { try await self.execute(query) }
                inFlight = true
            }
            try await group.waitForAll()
        }
    }
}

extension Projection {
    /// Applies `events` in one transaction of their own, without checkpoints or
    /// dead letters (benchmarks' naive per-event baseline, tools). Workers use the
    /// runtime instead.
    /// `prepared` is what ``prepare(_:)`` made of `events`, if it ran.
    public func applyStandalone(_ events: [ProjectedEvent], prepared: (any Sendable)? = nil, client: PostgresClient, logger: Logger, now: EventTime) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await apply(events, prepared: prepared, in: ProjectionContext(connection: connection, logger: logger, now: now))
        }
    }

    /// The events among `events` that this projection applies, each from no
    /// record (``ProjectedEvent/init(standalone:)``), for ``applyStandalone(_:prepared:client:logger:now:)``.
    public func standalone(_ events: some Sequence<Event>) -> [ProjectedEvent] {
        events.filter { eventTypes.contains($0.type) }.map(ProjectedEvent.init(standalone:))
    }

    /// Applies this projection's migrations (and the runtime's).
    public func migrate(client: PostgresClient, logger: Logger) async throws {
        for set in ProjectionRuntime.migrations(for: self) {
            try await Migrator.apply(set, on: client, logger: logger)
        }
    }
}
