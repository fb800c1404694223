import CRdKafka
import Logging
import Synchronization

/// The consumer's poll-thread side: batching, message conversion and rebalance
/// handling. It is the handle's librdkafka opaque.
///
/// Thread rules: `pending`, `batchDeadline`, `topicNames`, `wasAssigned`,
/// `takenSinceWake` and `takenInAll` are touched only on the poll thread (the
/// rebalance callback runs inside `rd_kafka_consumer_poll` on that same thread);
/// `closeRequested` is atomic; `handoff` and `waker` are thread-safe.
final class ConsumerCore: RdKafkaCallbacks, @unchecked Sendable {
    /// One batch waits while the next fills: enough to keep the consumer busy, and
    /// each batch held here is memory (a worker's RSS grows with every slot).
    let handoff = EventHandoff<KafkaConsumerEvent>(capacity: 1)
    private let configuration: KafkaConsumerConfiguration
    private let closeRequested = Atomic<Bool>(false)
    private var pending: [KafkaMessage] = []
    private var batchDeadline: ContinuousClock.Instant?
    private var topicNames: [OpaquePointer: String] = [:]
    /// Whether librdkafka ever handed this member an assignment (see
    /// ``mayDestroyHandle(_:)``).
    private var wasAssigned = false
    /// Wakes the fetchers while the queue drains (see ``FetchWaker``); nil when
    /// ``KafkaConsumerConfiguration/wakesStalledFetchers`` is off.
    let waker: FetchWaker?
    /// Bytes and messages taken from the queue since the last wake request.
    private var takenSinceWake = (bytes: 0, messages: 0)
    /// Bytes and messages taken in all (the average message size).
    private var takenInAll = (bytes: 0, messages: 0)

    init(configuration: KafkaConsumerConfiguration, logger: Logger) {
        self.configuration = configuration
        // The bounds as librdkafka gets them (`properties` may override them); a
        // consumer without topics (metadata queries only) fetches nothing.
        let properties = configuration.librdkafkaProperties
        func setting(_ name: String) -> Int? { properties.last { $0.0 == name }.flatMap { Int($0.1) } }
        waker = configuration.wakesStalledFetchers && !configuration.topics.isEmpty
            ? FetchWaker(
                prefetchKilobytes: setting("queued.max.messages.kbytes") ?? configuration.maxPrefetchKilobytes,
                queuedMinMessages: setting("queued.min.messages") ?? 100_000
            )
            : nil
        super.init(logger: logger)
        pending.reserveCapacity(configuration.maxBatchSize)
    }

    var isClosing: Bool { closeRequested.load(ordering: .acquiring) }

    func requestClose() {
        closeRequested.store(true, ordering: .releasing)
        handoff.close()
        waker?.stop()
    }

    /// Whether the closed handle `rk` can be destroyed. librdkafka 2.0.2 asserts
    /// (and aborts the process) when it destroys a `cooperative-sticky` member
    /// that joined its group but never received an assignment: the JoinGroup
    /// answer set the assignor, whose state stays NULL until the first SyncGroup
    /// answer (librdkafka issue 4312, fixed in 2.3.0 by pull request 4381). Such
    /// a handle is left to the process exit instead. A member that never got a
    /// JoinGroup answer has no assignor (its rebalance protocol reads `NONE`, or
    /// NULL without a group) and is destroyed. Call on the poll thread after the poll loop returned.
    func mayDestroyHandle(_ rk: OpaquePointer) -> Bool {
        // NULL: no consumer group at all.
        guard !wasAssigned, let name = rd_kafka_rebalance_protocol(rk) else { return true }
        return String(cString: name) == "NONE"
    }

    /// The poll loop. Returns once ``requestClose()`` was called.
    ///
    /// Messages are taken one `rd_kafka_consumer_poll` at a time and gathered into
    /// batches here. librdkafka 2.0's batch call (`rd_kafka_consume_batch_queue`)
    /// loses messages: every rebalance pauses and resumes the partitions a member
    /// keeps, and when the pause lands inside a batch call, the messages the call
    /// already took are dropped while the partition's position has moved past them,
    /// so fetching resumes after them (librdkafka pull request 4208, in 2.1.0). The
    /// single-message poll drops stale messages before it moves the position.
    ///
    /// While no batch is open the thread waits for one message (up to 100 ms, then
    /// loops to notice a close request). Then it takes every message already
    /// queued without waiting (one clock reading per run, not per message), and
    /// waits for more only until the batch deadline.
    func pollUntilClosed(_ rk: OpaquePointer) {
        let idleTimeout = 100
        let capacity = configuration.maxBatchSize
        // The prefetch queue, whose length the fetch waker reads after each run.
        let queue = waker == nil ? nil : rd_kafka_queue_get_consumer(rk)
        defer { if let queue { rd_kafka_queue_destroy(queue) } }
        while !isClosing {
            var timeout = idleTimeout
            if let deadline = batchDeadline {
                let remaining = (deadline - .now).wholeMilliseconds
                if remaining <= 0 || pending.count >= capacity {
                    emitPending()
                    continue
                }
                timeout = min(remaining, idleTimeout)
            }
            var next = rd_kafka_consumer_poll(rk, Int32(timeout))
            var emptied = next == nil
            let took = next != nil
            while let message = next {
                accept(message)
                rd_kafka_message_destroy(message)
                if pending.count < capacity {
                    next = rd_kafka_consumer_poll(rk, 0)
                    emptied = next == nil
                } else {
                    next = nil
                }
            }
            if took, let waker, let queue {
                let queued = emptied ? 0 : Int(rd_kafka_queue_length(queue))
                if waker.requestIfDrained(taken: takenSinceWake, queuedMessages: queued, averageBytes: takenInAll.bytes / max(1, takenInAll.messages)) {
                    takenSinceWake = (0, 0)
                }
            }
            if batchDeadline == nil, !pending.isEmpty {
                batchDeadline = .now + configuration.maxBatchWait
            }
        }
    }

    private func accept(_ message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let bytes = message.pointee.len + message.pointee.key_len
        takenSinceWake.bytes += bytes
        takenSinceWake.messages += 1
        takenInAll.bytes += bytes
        takenInAll.messages += 1
        let error = message.pointee.err
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if error != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                let kafkaError = KafkaError(kind: .consumer, rdError: error)
                logger.warning("consumer error", metadata: ["kafka.error": "\(kafkaError.name)"])
            }
            return
        }
        pending.append(convert(message))
    }

    private func emitPending() {
        batchDeadline = nil
        guard !pending.isEmpty else { return }
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        _ = handoff.push(.messages(batch))
    }

    private func convert(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaMessage {
        let raw = message.pointee
        let topic = topicName(raw.rkt)
        let value: [UInt8] = raw.payload.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: raw.len)) } ?? []
        let key: [UInt8]? = raw.key.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            let count = rd_kafka_header_cnt(list)
            headers.reserveCapacity(count)
            var name: UnsafePointer<CChar>?
            var headerValue: UnsafeRawPointer?
            var size = 0
            for index in 0..<count where rd_kafka_header_get_all(list, index, &name, &headerValue, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = headerValue.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: size)) }
                headers.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "", value: bytes))
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        return KafkaMessage(
            topic: topic,
            partition: raw.partition,
            offset: raw.offset,
            key: key,
            value: value,
            headers: headers,
            timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
        )
    }

    private func topicName(_ rkt: OpaquePointer?) -> String {
        guard let rkt else { return "" }
        if let name = topicNames[rkt] { return name }
        let name = String(cString: rd_kafka_topic_name(rkt))
        topicNames[rkt] = name
        return name
    }

    /// The rebalance callback, on the poll thread. Flushes the partial batch so the
    /// caller sees every message before the rebalance event, then waits for the
    /// caller's answer (unless closing) and applies the assignment change.
    func rebalance(_ rk: OpaquePointer, error: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) {
        emitPending()
        let changed = TopicPartitionList.partitions(in: partitions)
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            wasAssigned = true
            var offsets: [KafkaTopicPartition: Int64] = [:]
            if !isClosing {
                let assignment = KafkaAssignment(partitions: changed)
                if handoff.push(.assigned(assignment)) {
                    offsets = assignment.reply.wait(timeout: configuration.rebalanceReplyTimeout) { isClosing } ?? [:]
                }
            }
            for index in 0..<Int(partitions.pointee.cnt) {
                let element = partitions.pointee.elems[index]
                let tp = KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
                partitions.pointee.elems[index].offset = offsets[tp] ?? KafkaOffset.committed
            }
            logger.info("partitions assigned", metadata: ["kafka.partitions": "\(changed.count)"])
            waker?.assigned(changed, replacing: !cooperative)
            if cooperative {
                if let failure = rd_kafka_incremental_assign(rk, partitions) {
                    report(KafkaError(kind: .consumer, consuming: failure), action: "incremental assign")
                }
            } else {
                report(rd_kafka_assign(rk, partitions), action: "assign")
            }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(rk) != 0
            if !isClosing {
                let revocation = KafkaRevocation(partitions: changed, lost: lost)
                if handoff.push(.revoked(revocation)) {
                    _ = revocation.reply.wait(timeout: configuration.rebalanceReplyTimeout) { isClosing }
                }
            }
            logger.info("partitions revoked", metadata: ["kafka.partitions": "\(changed.count)", "kafka.lost": "\(lost)"])
            waker?.revoked(changed, all: !cooperative)
            if cooperative {
                if let failure = rd_kafka_incremental_unassign(rk, partitions) {
                    report(KafkaError(kind: .consumer, consuming: failure), action: "incremental unassign")
                }
            } else {
                report(rd_kafka_assign(rk, nil), action: "unassign")
            }
        default:
            logger.error("rebalance failed", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(error)))"])
            if cooperative {
                _ = rd_kafka_incremental_unassign(rk, partitions).map { rd_kafka_error_destroy($0) }
            } else {
                _ = rd_kafka_assign(rk, nil)
            }
        }
    }

    private func report(_ code: rd_kafka_resp_err_t, action: String) {
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        report(KafkaError(kind: .consumer, rdError: code), action: action)
    }

    private func report(_ error: KafkaError, action: String) {
        logger.error("rebalance \(action) failed", metadata: ["kafka.error": "\(error.name)"])
    }
}
