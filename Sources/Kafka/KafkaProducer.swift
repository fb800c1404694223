import CRdKafka
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// An idempotent Kafka producer.
///
/// `send` returns only after librdkafka's delivery report, so a successful result
/// means the partition leader (and, with `acks=all`, every in-sync replica) stored
/// the record. Delivery reports are served by a dedicated thread that sleeps in
/// `rd_kafka_poll` while idle; enqueueing never blocks a Swift concurrency thread.
///
/// Lifecycle: create, send from any task, then call ``shutdown(flushTimeout:)``
/// once (or run the producer as a `Service`, which shuts it down on graceful
/// shutdown). Records still queued after the flush timeout fail with a purge error.
public final class KafkaProducer: Service, Sendable {
    private enum Lifecycle {
        case running(activeSends: Int)
        case closing(activeSends: Int, waiters: [CheckedContinuation<Void, Never>])
        case closed
    }

    private let handle: RdKafkaHandle
    private let callbacks: ProducerCallbacks
    private let lifecycle = Mutex(Lifecycle.running(activeSends: 0))
    private let topicHandles = Mutex<[String: TopicHandle]>([:])
    private let mainQueue: QueueHandle
    private let flushTimeout = Mutex<Duration>(.seconds(10))
    private let logger: Logger

    /// Creates a producer and starts its delivery-report thread.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        let callbacks = ProducerCallbacks(logger: logger)
        self.callbacks = callbacks
        self.logger = logger
        self.handle = try RdKafkaHandle(
            type: RD_KAFKA_PRODUCER,
            properties: configuration.librdkafkaProperties,
            callbacks: callbacks
        ) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                guard let message, let opaque = message.pointee._private else { return }
                let (tracker, index) = DeliveryTracker.resolve(opaque)
                tracker.record(
                    index: index,
                    partition: message.pointee.partition,
                    offset: message.pointee.offset,
                    error: message.pointee.err
                )
            }
        }
        self.mainQueue = QueueHandle(pointer: rd_kafka_queue_get_main(handle.pointer))
        let thread = Thread { [self] in self.pollLoop() }
        thread.name = "kafka-producer-poll"
        thread.start()
    }

    /// Sends one record and waits for its delivery report.
    public func send(_ record: KafkaProducerRecord) async throws(KafkaError) -> KafkaDeliveryReport {
        try await send([record])[0].get()
    }

    /// Sends records in order and waits for every delivery report, or until
    /// `timeout` passes. Results are in input order; a record without a report by the
    /// deadline is answered `.failure` with kind `.timedOut` and may still be stored
    /// later, so it must not be reported as accepted.
    public func send(_ records: [KafkaProducerRecord], timeout: Duration? = nil) async -> [Result<KafkaDeliveryReport, KafkaError>] {
        await send(KafkaRecordBatch(records), timeout: timeout)
    }

    /// Sends the records of `batch` in order and waits for every delivery report,
    /// or until `timeout` passes; as ``send(_:timeout:)-([KafkaProducerRecord],_)``.
    public func send(_ batch: KafkaRecordBatch, timeout: Duration? = nil) async -> [Result<KafkaDeliveryReport, KafkaError>] {
        guard enterSend() else { return (0..<batch.count).map { _ in .failure(.closed) } }
        defer { leaveSend() }
        let tracker = DeliveryTracker(count: batch.count)
        var lastTopic: (name: String, handle: OpaquePointer)?
        for index in 0..<batch.count {
            // Batches usually go to one or two topics: compare with the last one
            // (identical strings compare by storage) before hashing.
            let name = batch.topic(at: index)
            let rkt: OpaquePointer
            if let lastTopic, lastTopic.name == name {
                rkt = lastTopic.handle
            } else {
                rkt = topicHandle(name)
                lastTopic = (name, rkt)
            }
            while true {
                let error = Self.enqueue(batch, index, rkt: rkt, producer: handle.pointer, opaque: tracker.opaque(for: index))
                if error == RD_KAFKA_RESP_ERR__QUEUE_FULL, isRunning {
                    // The local queue is full: wait for delivery reports to drain it.
                    try? await Task.sleep(for: .milliseconds(1))
                    continue
                }
                if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                    // Still QUEUE_FULL here means the producer began closing.
                    let code = error == RD_KAFKA_RESP_ERR__QUEUE_FULL ? RD_KAFKA_RESP_ERR__DESTROY : error
                    tracker.record(index: index, partition: -1, offset: -1, error: code)
                }
                break
            }
        }
        let reports = await tracker.reports(timeout: timeout)
        return reports.enumerated().map { index, report in
            switch report.code {
            case RD_KAFKA_RESP_ERR_NO_ERROR.rawValue:
                return .success(KafkaDeliveryReport(topic: batch.topic(at: index), partition: report.partition, offset: report.offset))
            case DeliveryTracker.Report.pending:
                return .failure(.timedOut("no delivery report before the deadline"))
            case RD_KAFKA_RESP_ERR__DESTROY.rawValue:
                return .failure(.closed)
            case let code:
                let error = rd_kafka_resp_err_t(rawValue: code)
                return .failure(KafkaError(kind: error == RD_KAFKA_RESP_ERR__FATAL ? .fatal : .delivery, rdError: error))
            }
        }
    }

    /// Waits until every queued record has a delivery report, or `timeout` passes.
    public func flush(timeout: Duration) async throws(KafkaError) {
        guard enterSend() else { throw .closed }
        defer { leaveSend() }
        let rk = handle
        let milliseconds = Int32(clamping: timeout.wholeMilliseconds)
        let error = await BlockingCalls.run { rd_kafka_flush(rk.pointer, milliseconds) }
        if error != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(kind: .timedOut, rdError: error) }
    }

    /// Asks a broker for cluster metadata: succeeds when the cluster is reachable.
    public func checkConnectivity(timeout: Duration) async throws(KafkaError) {
        guard enterSend() else { throw .closed }
        defer { leaveSend() }
        try await Metadata.check(handle, timeout: timeout)
    }

    /// The fatal error that disabled this producer, if any. A fatal producer must be
    /// shut down and replaced.
    public var fatalError: KafkaError? {
        var text = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle.pointer, &text, text.count)
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(kind: .fatal, rdError: code, detail: String(cBuffer: text))
    }

    /// Runs until graceful shutdown, then flushes and closes the producer.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Flushes queued records (up to `flushTimeout`), fails the rest, and destroys
    /// the handle. Safe to call more than once; later calls wait for the first.
    public func shutdown(flushTimeout: Duration = .seconds(10)) async {
        self.flushTimeout.withLock { $0 = flushTimeout }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = lifecycle.withLock { state -> Bool in
                switch state {
                case .running(let active):
                    state = .closing(activeSends: active, waiters: [continuation])
                    return false
                case .closing(let active, var waiters):
                    waiters.append(continuation)
                    state = .closing(activeSends: active, waiters: waiters)
                    return false
                case .closed:
                    return true
                }
            }
            if resumeNow {
                continuation.resume()
            } else {
                rd_kafka_queue_yield(mainQueue.pointer)
            }
        }
    }

    // MARK: - Internals

    private var isRunning: Bool {
        lifecycle.withLock { if case .running = $0 { true } else { false } }
    }

    private func enterSend() -> Bool {
        lifecycle.withLock { state in
            guard case .running(let active) = state else { return false }
            state = .running(activeSends: active + 1)
            return true
        }
    }

    private func leaveSend() {
        lifecycle.withLock { state in
            switch state {
            case .running(let active): state = .running(activeSends: active - 1)
            case .closing(let active, let waiters): state = .closing(activeSends: active - 1, waiters: waiters)
            case .closed: preconditionFailure("send finished after the producer closed")
            }
        }
    }

    private func topicHandle(_ topic: String) -> OpaquePointer {
        topicHandles.withLock { handles in
            if let existing = handles[topic] { return existing.pointer }
            let created = rd_kafka_topic_new(handle.pointer, topic, nil)!
            handles[topic] = TopicHandle(pointer: created)
            return created
        }
    }

    private func pollLoop() {
        let rk = handle.pointer
        // Delivery reports arrive on the main queue. Sleeping on the queue itself
        // (rather than `rd_kafka_poll`) lets `shutdown` wake the thread at once
        // with `rd_kafka_queue_yield`.
        while isRunning {
            rd_kafka_queue_poll_callback(mainQueue.pointer, 1000)
        }
        // Closing: let in-flight `send` calls finish enqueueing, then drain.
        while lifecycle.withLock({ if case .closing(let active, _) = $0 { active > 0 } else { false } }) {
            rd_kafka_poll(rk, 10)
        }
        let timeout = Int32(clamping: flushTimeout.withLock { $0 }.wholeMilliseconds)
        if rd_kafka_flush(rk, timeout) != RD_KAFKA_RESP_ERR_NO_ERROR {
            let pending = rd_kafka_outq_len(rk)
            logger.warning("producer closing with undelivered records; failing them", metadata: ["kafka.pending": "\(pending)"])
            rd_kafka_purge(rk, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            _ = rd_kafka_flush(rk, 2000)
        }
        for topic in topicHandles.withLock({ $0.values }) {
            rd_kafka_topic_destroy(topic.pointer)
        }
        rd_kafka_queue_destroy(mainQueue.pointer)
        handle.destroy()
        let waiters = lifecycle.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard case .closing(_, let waiters) = state else { return [] }
            state = .closed
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Enqueues record `index` of `batch` without blocking; librdkafka's error
    /// code. Every pointer is into the batch's one buffer (header names are
    /// NUL-terminated there), and librdkafka copies what it keeps.
    private static func enqueue(
        _ batch: KafkaRecordBatch,
        _ index: Int,
        rkt: OpaquePointer,
        producer: OpaquePointer,
        opaque: UnsafeMutableRawPointer
    ) -> rd_kafka_resp_err_t {
        let record = batch.records[index]
        let fixedCount = 6
        let count = fixedCount + record.headers.count
        return batch.bytes.withUnsafeBytes { bytes in
            withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: count) { vus in
                // An empty range still needs a non-null address (an empty, not a
                // missing, key or header value).
                func pointer(_ range: Range<Int>) -> UnsafeMutableRawPointer {
                    range.isEmpty ? emptyValue : UnsafeMutableRawPointer(mutating: bytes.baseAddress!.advanced(by: range.lowerBound))
                }
                vus.initialize(repeating: rd_kafka_vu_t())
                vus[0].vtype = RD_KAFKA_VTYPE_RKT
                vus[0].u.rkt = rkt
                vus[1].vtype = RD_KAFKA_VTYPE_PARTITION
                vus[1].u.i32 = record.partition ?? RD_KAFKA_PARTITION_UA
                vus[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                vus[2].u.i = RD_KAFKA_MSG_F_COPY
                vus[3].vtype = RD_KAFKA_VTYPE_OPAQUE
                vus[3].u.ptr = opaque
                vus[4].vtype = RD_KAFKA_VTYPE_VALUE
                vus[4].u.mem.ptr = record.value.isEmpty ? nil : pointer(record.value)
                vus[4].u.mem.size = record.value.count
                vus[5].vtype = RD_KAFKA_VTYPE_KEY
                vus[5].u.mem.ptr = record.key.map(pointer)
                vus[5].u.mem.size = record.key?.count ?? 0
                for (position, header) in batch.headers[record.headers].enumerated() {
                    let entry = fixedCount + position
                    vus[entry].vtype = RD_KAFKA_VTYPE_HEADER
                    vus[entry].u.header.name = UnsafePointer(pointer(header.name).assumingMemoryBound(to: CChar.self))
                    vus[entry].u.header.val = header.value.map { UnsafeRawPointer(pointer($0)) }
                    vus[entry].u.header.size = header.value?.count ?? 0
                }
                guard let error = rd_kafka_produceva(producer, vus.baseAddress, count) else {
                    return RD_KAFKA_RESP_ERR_NO_ERROR
                }
                let code = rd_kafka_error_code(error)
                rd_kafka_error_destroy(error)
                return code
            }
        }
    }

    // Never written: the address stands for an empty (not null) key or header value.
    private nonisolated(unsafe) static let emptyValue: UnsafeMutableRawPointer = .allocate(byteCount: 1, alignment: 1)
}

/// A topic handle owned by one producer; destroyed when the producer closes.
private struct TopicHandle: @unchecked Sendable {
    // @unchecked: librdkafka topic handles are thread-safe and immutable for us.
    let pointer: OpaquePointer
}

/// A queue handle owned by one client; destroyed before the client.
struct QueueHandle: @unchecked Sendable {
    // @unchecked: librdkafka queues are thread-safe; `rd_kafka_queue_yield` is
    // meant to be called from other threads.
    let pointer: OpaquePointer
}

/// Producer callbacks. Delivery reports go straight to their ``DeliveryTracker``.
final class ProducerCallbacks: RdKafkaCallbacks, @unchecked Sendable {}
