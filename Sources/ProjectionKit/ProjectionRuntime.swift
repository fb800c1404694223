import Events
import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import ServiceSupport
import Synchronization

/// Drives a ``Projection``: consumer-group membership, batches, effectively-once
/// application with fencing, dead letters, retries and metrics (DESIGN §4).
///
/// Effectively once: a batch's projection changes and its checkpoints
/// (`iomt_runtime.checkpoints`) commit in one PostgreSQL transaction. On
/// assignment the consumer starts at the stored checkpoints, not Kafka's committed
/// offsets. Fencing: each checkpoint moves only from the offset the batch started
/// at; if another worker moved it (it owns the partition now), the transaction
/// rolls back and this worker re-reads the checkpoint. Kafka offsets are committed
/// too, asynchronously, so standard lag tools work.
///
/// Lifecycle: run as a `Service`. On graceful shutdown it finishes the batch in
/// progress (or, if the process is killed, PostgreSQL rolls it back), then leaves
/// the group.
public final class ProjectionRuntime: Service, Sendable {
    /// Progress after each batch, for rebuild output.
    public struct Progress: Sendable {
        /// Events applied since start.
        public var applied: Int
        /// Next offset per owned partition.
        public var positions: [KafkaTopicPartition: Int64]
    }

    private let projection: any Projection
    private let configuration: WorkerConfiguration
    private let postgres: PostgresClient
    private let logger: Logger
    let metrics: ProjectionMetrics
    private let clock: @Sendable () -> EventTime
    private let onProgress: @Sendable (Progress) async -> Bool
    private let state = Mutex(RunState())
    /// Set once migrations are applied and the consumer is subscribed.
    public let started = OnceFlag()

    private struct RunState {
        var consumer: KafkaConsumer?
        var busy = false
        var stopping = false
    }

    /// Creates a runtime.
    ///
    /// - Parameters:
    ///   - clock: the time given to projections as ``ProjectionContext/now``.
    ///   - onProgress: called after each batch; returning true stops the runtime
    ///     (rebuild stops once it has caught up).
    public init(
        projection: any Projection,
        configuration: WorkerConfiguration,
        postgres: PostgresClient,
        metrics: ServiceMetrics,
        logger: Logger,
        clock: @escaping @Sendable () -> EventTime = { EventTime(Date()) },
        onProgress: @escaping @Sendable (Progress) async -> Bool = { _ in false }
    ) {
        self.projection = projection
        self.configuration = configuration
        self.postgres = postgres
        self.logger = logger
        self.metrics = ProjectionMetrics(metrics: metrics, projection: projection.name)
        self.clock = clock
        self.onProgress = onProgress
    }

    /// Most messages per consumer delivery. Deliveries are decoded as they come and
    /// gathered into batches of up to ``WorkerConfiguration/batchMaxEvents``, so
    /// raw messages never wait in bulk.
    static let deliveryChunk = 1000

    /// The migrations of the runtime and of the projection.
    public static func migrations(for projection: some Projection) -> [MigrationSet] {
        [Checkpoints.migrations, MigrationSet(component: projection.name, migrations: projection.migrations)]
    }

    /// Applies migrations, then consumes until graceful shutdown (or until
    /// `onProgress` asks to stop).
    public func run() async throws {
        for set in Self.migrations(for: projection) {
            _ = try await retrying("apply migrations") { try await Migrator.apply(set, on: postgres, logger: logger) }
        }
        for schema in [projection.schema, "iomt_runtime"] {
            _ = try await retrying("grant read access") { try await ReadAccess.grant(schema: schema, to: configuration.queryRole, client: postgres, logger: logger) }
        }
        var consumerConfiguration = configuration.kafka.consumerConfiguration(
            clientID: "iomt-\(projection.name)", groupID: configuration.group(for: projection), topics: projection.topics.map(\.name)
        )
        // The consumer delivers small chunks; the mailbox gathers their decoded
        // records into batches (see `DecodedMailbox`).
        consumerConfiguration.maxBatchSize = min(configuration.batchMaxEvents, Self.deliveryChunk)
        consumerConfiguration.maxBatchWait = configuration.batchMaxWait
        consumerConfiguration.maxPrefetchKilobytes = configuration.prefetchKilobytes
        consumerConfiguration.sessionTimeout = configuration.sessionTimeout
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        var producerConfiguration = configuration.kafka.producerConfiguration(clientID: "iomt-\(projection.name)-dlq")
        producerConfiguration.linger = .milliseconds(1)
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        state.withLock { $0.consumer = consumer }
        started.set()
        logger.info("projection worker started", metadata: ["projection": "\(projection.name)", "group": "\(configuration.group(for: projection))"])

        // Decoding runs ahead of application, so the CPU work of the next batch
        // overlaps the database work of the current one.
        let decoded = DecodedMailbox(maxRecords: configuration.batchMaxEvents)
        let eventTypes = projection.eventTypes
        let keptTypes = projection.deadLetterTypes
        let decoding = Task {
            let decoder = EventRecordDecoder()
            for await event in consumer.events {
                switch event {
                case .assigned(let assignment): await decoded.send(.assigned(assignment))
                case .revoked(let revocation): await decoded.send(.revoked(revocation))
                case .messages(let messages):
                    // Only what the batch loop needs survives decoding: the raw
                    // records are released here unless a dead letter may need them.
                    let records = messages.map { message -> DecodedRecord in
                        let outcome: DecodedRecord.Outcome
                        do throws(EventValidationError) {
                            let event = try decoder.decode(headers: message.headers, value: message.value)
                            outcome = eventTypes.contains(event.type)
                                ? .event(ProjectedEvent(event: event, message: message, keepingRecord: keptTypes.contains(event.type)))
                                : .skipped(event.time)
                        } catch {
                            outcome = .undecodable(message, error.description)
                        }
                        return DecodedRecord(topic: message.topic, partition: message.partition, offset: message.offset, outcome: outcome)
                    }
                    await decoded.send(.records(DecodedRecords(consume records)))
                }
                if Task.isCancelled { break }
            }
            decoded.finish()
        }
        let ticker = projection.tickInterval.map { interval in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    await decoded.send(.tick)
                }
            }
        }
        var loop = BatchLoop(runtime: self, consumer: consumer, producer: producer)
        await withGracefulShutdownHandler {
            await loop.run(decoded)
        } onGracefulShutdown: { [self] in
            // Idle: stop waiting for events now. Busy: the loop stops after the batch.
            let idleConsumer = state.withLock { state -> KafkaConsumer? in
                state.stopping = true
                return state.busy ? nil : state.consumer
            }
            if let idleConsumer { Task { await idleConsumer.close() } }
        }
        decoding.cancel()
        ticker?.cancel()
        decoded.finish()
        await consumer.close()
        await producer.shutdown()
        logger.info("projection worker stopped", metadata: ["projection": "\(projection.name)"])
    }

    /// Marks the loop busy; returns false when the runtime is stopping.
    fileprivate func beginBatch() -> Bool {
        state.withLock { state in
            guard !state.stopping else { return false }
            state.busy = true
            return true
        }
    }

    /// Marks the loop idle; returns false when the runtime is stopping.
    fileprivate func endBatch() -> Bool {
        state.withLock { state in
            state.busy = false
            return !state.stopping
        }
    }

    fileprivate func requestStop() {
        state.withLock { $0.stopping = true }
    }

    /// Runs `body` until it succeeds, backing off between attempts. Never gives up
    /// while the runtime is not stopping; throws `CancellationError` when it is.
    fileprivate func retrying<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch {
                if error is FencedPartitions { throw error }
                attempt += 1
                metrics.retries.increment()
                let delay = configuration.retry.delay(forAttempt: attempt)
                logger.warning("\(what) failed; retrying", metadata: [
                    "projection": "\(projection.name)", "attempt": "\(attempt)", "retry_in_ms": "\(delay.wholeMilliseconds)",
                    "error": "\(Self.describe(error))",
                ])
                if state.withLock({ $0.stopping }) && attempt > 3 { throw CancellationError() }
                try? await Task.sleep(for: delay)
            }
        }
    }

    /// A safe description: error types and codes, never SQL text or values.
    static func describe(_ error: any Error) -> String {
        if let transaction = error as? PostgresTransactionError {
            return transaction.closureError.map(describe) ?? transaction.commitError.map(describe) ?? "transaction failed"
        }
        if let psql = error as? PSQLError {
            return "PSQLError \(psql.code)" + (psql.serverInfo?[.sqlState].map { " sqlstate \($0)" } ?? "")
        }
        if let kafka = error as? KafkaError { return kafka.description }
        return String(describing: type(of: error))
    }

    // MARK: - The batch loop

    private struct BatchLoop {
        let runtime: ProjectionRuntime
        let consumer: KafkaConsumer
        let producer: KafkaProducer
        /// Next offset to apply, per owned partition.
        var owned: [KafkaTopicPartition: Int64] = [:]
        var applied = 0

        var projection: any Projection { runtime.projection }
        var logger: Logger { runtime.logger }

        mutating func run(_ decoded: DecodedMailbox) async {
            // A batch taken early, while the one before it was written, and what the
            // projection prepared of it.
            var ahead: AheadBatch?
            while true {
                var event: DecodedEvent
                let prepared = ahead?.preparation
                if let taken = ahead {
                    event = .records(taken.records)
                    ahead = nil
                    decoded.releaseAhead()
                } else {
                    guard let next = await decoded.next() else { break }
                    event = next
                }
                guard runtime.beginBatch() else { break }
                var stop = false
                do {
                    // Taken out of the event, so the batch holds the only reference
                    // to its records and can move their events out.
                    if let records = event.takeRecords() {
                        ahead = try await handle(consume records, prepared: prepared, mailbox: decoded)
                        stop = await runtime.onProgress(Progress(applied: applied, positions: owned))
                    } else {
                        switch event {
                        case .assigned(let assignment):
                            try await assign(assignment)
                        case .revoked(let revocation):
                            for partition in revocation.partitions { owned.removeValue(forKey: partition) }
                            revocation.acknowledge()
                        case .tick:
                            try await tick()
                        case .records:
                            break
                        }
                    }
                } catch {
                    // Only cancellation (stopping while retrying) gets here.
                    stop = true
                }
                if stop { runtime.requestStop() }
                guard runtime.endBatch() else { break }
            }
        }

        /// True when every owned partition is applied up to the log end last seen.
        var caughtUp: Bool {
            !owned.isEmpty && owned.allSatisfy { partition, next in
                guard let marks = consumer.cachedWatermarks(for: partition) else { return false }
                return next >= marks.high
            }
        }

        func tick() async throws {
            guard caughtUp else { return }
            let now = runtime.clock()
            try await runtime.retrying("tick") {
                try await runtime.postgres.withTransaction(logger: logger) { connection in
                    try await projection.tick(in: ProjectionContext(connection: connection, logger: logger, now: now, caughtUp: true))
                }
            }
        }

        mutating func assign(_ assignment: KafkaAssignment) async throws {
            let offsets = try await loadCheckpoints(assignment.partitions)
            for (partition, offset) in offsets { owned[partition] = offset }
            assignment.start(at: offsets)
        }

        func loadCheckpoints(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] {
            let consumer = consumer
            return try await runtime.retrying("load checkpoints") {
                try await Checkpoints.load(
                    projection: projection.name,
                    partitions: partitions,
                    initial: { partition in try await consumer.watermarks(for: partition).low },
                    client: runtime.postgres,
                    logger: logger
                )
            }
        }

        /// Applies a batch of records; returns the next batch if it was taken (and
        /// prepared) while this one was written.
        mutating func handle(_ records: consuming DecodedRecords, prepared preparation: Preparation?, mailbox: DecodedMailbox) async throws -> AheadBatch? {
            let started = ContinuousClock.now
            let recordCount = records.count
            var batch = try await prepare(records)
            // A preparation holds only for exactly the events it was made from;
            // `prepare(_:)` only ever drops events, so the same count means the same.
            var prepared = preparation.flatMap { $0.eventCount == batch.events.count ? $0.value : nil }
            let readiness = BatchReadiness()
            defer { readiness.end() }
            let lookahead = projection.preparesAhead
                ? Task { [projection] in await Self.prepareAhead(projection, after: readiness, from: mailbox) }
                : nil
            var fencedAny = false
            while !batch.ranges.isEmpty {
                do {
                    try await runtime.retrying("apply batch") { [batch, prepared] in try await apply(batch, prepared: prepared, readiness: readiness) }
                    break
                } catch let fenced as FencedPartitions {
                    // Another worker moved these checkpoints: re-read them, seek, and
                    // apply the rest of the batch without them.
                    runtime.metrics.fenced.increment(by: fenced.partitions.count)
                    logger.warning("partitions fenced: another worker advanced their checkpoints", metadata: ["partitions": "\(fenced.partitions.count)"])
                    let stored = try await loadCheckpoints(fenced.partitions)
                    for partition in fenced.partitions { owned[partition] = stored[partition] }
                    try? consumer.seek(stored)
                    batch = batch.without(Set(fenced.partitions))
                    prepared = nil
                    fencedAny = true
                }
            }
            readiness.end()
            // A lookahead still waiting for a full batch stops now (its sleep ends
            // at once); one that took a batch prepares it to the end, awaited below.
            lookahead?.cancel()
            for (partition, range) in batch.ranges { owned[partition] = range.to }
            try? consumer.commit(batch.ranges.mapValues(\.to))
            applied += batch.events.count
            runtime.metrics.applied.increment(by: batch.events.count)
            runtime.metrics.skipped.increment(by: batch.skipped)
            runtime.metrics.batchSize.record(recordCount)
            runtime.metrics.batchLatency.recordNanoseconds((ContinuousClock.now - started).nanoseconds)
            if let newest = batch.ranges.values.compactMap(\.lastEventTime).max() {
                runtime.metrics.newestEventTime.record(newest.secondsSinceEpoch)
            }
            for (partition, range) in batch.ranges {
                if let marks = consumer.cachedWatermarks(for: partition) {
                    runtime.metrics.lag(partition, max(0, marks.high - range.to))
                }
            }
            var next = await lookahead?.value
            // Positions moved under the batch: what was prepared ahead assumed
            // otherwise, so the next batch is applied without it.
            if fencedAny { next?.preparation = nil }
            // The applied batch's events and what was prepared of them are freed
            // on another task: freed here, they held up the next batch. Between
            // two alerts batches of 18,000 events (`iomt bench projection
            // --projection alerts --workload ward`, 170-200 ms each) the loop
            // spent 6.5-7 ms, now about 1 ms. At the loop's own priority: a
            // lower one could wait behind a long catch-up and hold batches.
            let retired = Retired((consume batch, consume prepared))
            let release = projection.releasesFreedMemory
            Task {
                retired.free()
                if release { AllocatorTuning.releaseFreeMemory() }
            }
            return next
        }

        /// Once the batch being applied is ready (its result final in the
        /// projection's memory), takes the next batch if it has gathered in full
        /// before this one ends, and prepares it. A batch taken is always returned
        /// and applied next; only stopping drops it, uncommitted, so the partition's
        /// next owner reads it again from the checkpoints.
        static func prepareAhead(_ projection: any Projection, after readiness: BatchReadiness, from mailbox: DecodedMailbox) async -> AheadBatch? {
            guard await readiness.wait() else { return nil }
            // Polled: the batch fills as deliveries are decoded, while this one's
            // statements run.
            var taken = mailbox.takeFullBatch()
            while taken == nil {
                if readiness.hasEnded || Task.isCancelled { return nil }
                try? await Task.sleep(for: .milliseconds(2))
                taken = mailbox.takeFullBatch()
            }
            guard let records = taken else { return nil }
            var events: [ProjectedEvent] = []
            events.reserveCapacity(records.count)
            for chunk in records.chunks {
                for record in chunk {
                    if case .event(let projected) = record.outcome { events.append(projected) }
                }
            }
            return AheadBatch(records: records, preparation: Preparation(eventCount: events.count, value: await projection.prepare(events)))
        }

        /// Groups records by partition and drops what was already applied. The
        /// records' events move into the batch (`records` is consumed: its
        /// outcomes are left empty), so no event is copied.
        mutating func prepare(_ records: consuming DecodedRecords) async throws -> PreparedBatch {
            var records = records
            var batch = PreparedBatch()
            batch.events.reserveCapacity(records.count)
            // Assigned without our checkpoints (the reply timed out): load them now
            // and move the consumer there if it started elsewhere. Partitions this
            // member does not hold (any more) are not adopted: their messages are
            // skipped below.
            let unknown = records.partitions.filter { owned[$0] == nil }
            let adopted = unknown.isEmpty ? [] : unknown.intersection(await consumer.assignment())
            if !adopted.isEmpty {
                let stored = try await loadCheckpoints(Array(adopted))
                for (partition, offset) in stored { owned[partition] = offset }
                try? consumer.seek(stored)
            }
            // Messages of one partition come in runs: keep the current partition's
            // range in locals and touch the dictionaries once per run, not per message.
            var current: (partition: KafkaTopicPartition, range: (from: Int64, to: Int64, lastEventTime: EventTime?))?
            records.forEachInPlace { message in
                if current?.partition.partition != message.partition || current?.partition.topic != message.topic {
                    if let current { batch.ranges[current.partition] = current.range }
                    let partition = message.topicPartition
                    if let range = batch.ranges[partition] {
                        current = (partition, range)
                    } else if let next = owned[partition] {
                        current = (partition, (from: next, to: next, lastEventTime: nil))
                    } else {
                        current = nil  // not owned (revoked): skip its messages
                    }
                }
                guard current != nil else { return }
                // Already applied: skip.
                guard message.offset >= current!.range.to else { return }
                if message.offset > current!.range.to {
                    logger.warning("offsets skipped: records no longer retained", metadata: [
                        "topic": "\(message.topic)", "partition": "\(message.partition)", "from": "\(current!.range.to)", "to": "\(message.offset)",
                    ])
                }
                current!.range.to = message.offset + 1
                switch message.take() {
                case .event(let projected):
                    current!.range.lastEventTime = max(current!.range.lastEventTime ?? projected.event.time, projected.event.time)
                    batch.events.append(projected)
                case .skipped(let time):
                    current!.range.lastEventTime = max(current!.range.lastEventTime ?? time, time)
                    batch.skipped += 1
                case .undecodable(let original, let reason):
                    batch.undecodable.append((original, reason))
                }
            }
            if let current { batch.ranges[current.partition] = current.range }
            // Partitions whose messages were all applied already leave no range.
            batch.ranges = batch.ranges.filter { $0.value.to > $0.value.from }
            return batch
        }

        func apply(_ batch: PreparedBatch, prepared: (any Sendable)?, readiness: BatchReadiness) async throws {
            let now = runtime.clock()
            do {
                try await transaction(batch, prepared: prepared, readiness: readiness, now: now)
            } catch let error as PostgresTransactionError {
                // Surface fencing unwrapped; everything else is retried as it is.
                if let fenced = error.closureError as? FencedPartitions { throw fenced }
                throw error
            }
        }

        func transaction(_ batch: PreparedBatch, prepared: (any Sendable)?, readiness: BatchReadiness, now: EventTime) async throws {
            try await runtime.postgres.withTransaction(logger: logger) { connection in
                let fenced = try await Checkpoints.advance(projection: projection.name, ranges: batch.ranges, connection: connection, logger: logger)
                if !fenced.isEmpty { throw FencedPartitions(partitions: fenced) }
                let context = ProjectionContext(connection: connection, logger: logger, now: now, caughtUp: caughtUp, onEvaluated: { readiness.ready() })
                // Dead letters are stored before the checkpoint commits: a crash
                // repeats them, never loses them. Records that did not decode go
                // before the projection's statements, so the locks those take are
                // not held while Kafka acknowledges them.
                try await sendDeadLetters(batch.undecodable.map { DeadLetter.record(for: $0.0, reason: $0.1, consumer: projection.name, at: now) })
                if !batch.events.isEmpty {
                    try await projection.apply(batch.events, prepared: prepared, in: context)
                }
                try await sendDeadLetters(context.deadLetters.map { DeadLetter.record(for: $0.0.deadLetterSource, reason: $0.1, consumer: projection.name, at: now) })
            }
        }

        /// Sends dead letters and waits until Kafka stored every one.
        func sendDeadLetters(_ letters: [KafkaProducerRecord]) async throws {
            guard !letters.isEmpty else { return }
            for result in await producer.send(letters, timeout: .seconds(30)) { _ = try result.get() }
            runtime.metrics.deadLetters.increment(by: letters.count)
        }
    }
}

/// A consumer event after decoding.
enum DecodedEvent: Sendable {
    case assigned(KafkaAssignment)
    case revoked(KafkaRevocation)
    /// A batch of records, decoded.
    case records(DecodedRecords)
    /// Time to run the projection's time-driven rules.
    case tick

    /// The records of a `.records` event, leaving `.tick` in their place so the
    /// caller holds the only reference to them; nil for other events.
    mutating func takeRecords() -> DecodedRecords? {
        guard case .records(let records) = self else { return nil }
        self = .tick
        return records
    }
}

/// One consumed record after decoding: its position and what decoding made of it.
struct DecodedRecord: Sendable {
    enum Outcome: Sendable {
        /// An event of a type the projection applies.
        case event(ProjectedEvent)
        /// A valid event of another type (only its time matters).
        case skipped(EventTime)
        /// Not a valid event of the contract: the record and the reason (boxed:
        /// rare, and larger than the other cases).
        indirect case undecodable(KafkaMessage, String)
    }

    var topic: String
    var partition: Int32
    var offset: Int64
    var outcome: Outcome

    var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }

    /// The outcome, moved out: an emptied record keeps its position and says
    /// `.skipped` at time zero.
    mutating func take() -> Outcome {
        var outcome = Outcome.skipped(EventTime(microseconds: 0))
        swap(&outcome, &self.outcome)
        return outcome
    }
}

/// What a projection prepared of a batch (``Projection/prepare(_:)``), and from
/// how many events.
struct Preparation: Sendable {
    var eventCount: Int
    var value: (any Sendable)?
}

/// A batch of records taken while the one before it was written.
struct AheadBatch: Sendable {
    var records: DecodedRecords
    var preparation: Preparation?
}

/// A batch ready to apply.
struct PreparedBatch: Sendable {
    /// Offsets covered per partition (`from` = checkpoint, `to` = next offset after).
    var ranges: [KafkaTopicPartition: (from: Int64, to: Int64, lastEventTime: EventTime?)] = [:]
    /// Events of the projection's types, in batch order.
    var events: [ProjectedEvent] = []
    /// Records that could not be decoded, with the reason.
    var undecodable: [(KafkaMessage, String)] = []
    /// Events of types the projection does not apply.
    var skipped = 0

    func without(_ partitions: Set<KafkaTopicPartition>) -> PreparedBatch {
        var copy = self
        for partition in partitions { copy.ranges.removeValue(forKey: partition) }
        copy.events.removeAll { partitions.contains($0.topicPartition) }
        copy.undecodable.removeAll { partitions.contains($0.0.topicPartition) }
        return copy
    }
}

/// The checkpoints of these partitions moved under the batch: another worker owns them.
struct FencedPartitions: Error {
    var partitions: [KafkaTopicPartition]
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var wholeMilliseconds: Int64 { nanoseconds / 1_000_000 }
}

/// A batch and what was prepared of it, handed to the task that frees them.
private final class Retired<Value: Sendable>: @unchecked Sendable {
    // @unchecked: the runtime hands it over and never touches it again; only
    // the freeing task calls `free()`.
    private var value: Value?

    init(_ value: consuming Value) {
        self.value = value
    }

    func free() {
        value = nil
    }
}
