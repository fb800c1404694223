import Kafka
import Synchronization

/// The decoded consumer events between the decoding task and the batch loop.
///
/// The consumer delivers small chunks of messages and the decoding task decodes
/// each as it comes; here the records gather into the next batch while the loop
/// applies the current one, up to `maxRecords`. The loop takes whatever waits when
/// it is ready: an idle worker applies each delivery at once (freshness), a busy
/// one gets batches as large as the limit (fewer writes per event). Raw messages
/// never pile up behind a whole batch: besides the batch being applied, at most
/// one batch of decoded records (plus one chunk) waits in memory, counting a
/// batch the loop took early to prepare it (``takeFullBatch()``) until the loop
/// starts applying it (``releaseAhead()``).
///
/// Order is kept: records decoded after an assignment or a revocation stay behind
/// it. A tick keeps no place: it waits as one pending flag and is handed over when
/// nothing else waits (the tick uses the wall clock and runs only once the worker
/// has caught up, so where it falls among records does not matter), and it never
/// splits the batch gathering. Back-pressure: ``send(_:)`` of records returns only
/// once fewer than `maxRecords` records wait, a batch taken early included.
///
/// One task sends records and one task at a time takes events (the batch loop,
/// or while it applies a batch, its lookahead); any task may send the other
/// events.
final class DecodedMailbox: Sendable {
    private struct State {
        /// Events ready to take, before ``open``.
        var closed: [DecodedEvent] = []
        /// The records gathering behind ``closed``.
        var open = DecodedRecords()
        /// Records waiting in ``closed`` and ``open``.
        var records = 0
        /// Records of the batch taken early (``takeFullBatch()``) and not yet
        /// released (``releaseAhead()``): they count against the bound too, so a
        /// worker that prepares ahead holds at most one batch besides the one it
        /// applies, as one that does not.
        var ahead = 0
        /// Whether records waiting (a batch taken early included) leave room.
        func hasRoom(_ maxRecords: Int) -> Bool { records + ahead < maxRecords }
        /// A tick was sent and not taken yet.
        var tickPending = false
        var finished = false
        var receiver: CheckedContinuation<DecodedEvent?, Never>?
        var sender: CheckedContinuation<Void, Never>?

        mutating func take() -> DecodedEvent? {
            if !closed.isEmpty {
                let event = closed.removeFirst()
                if case .records(let batch) = event { records -= batch.count }
                return event
            }
            if !open.isEmpty {
                let batch = open
                open = DecodedRecords()
                records -= batch.count
                return .records(batch)
            }
            guard tickPending else { return nil }
            tickPending = false
            return .tick
        }

        mutating func closeOpen() {
            guard !open.isEmpty else { return }
            closed.append(.records(open))
            open = DecodedRecords()
        }
    }

    private let state = Mutex(State())
    /// The most records one batch gathers.
    let maxRecords: Int

    /// A mailbox gathering batches of at most `maxRecords` records.
    init(maxRecords: Int) {
        self.maxRecords = max(1, maxRecords)
    }

    /// Queues `event`, or hands it straight to a waiting loop. Records wait for
    /// room after queuing: this returns once fewer than `maxRecords` records wait
    /// (a batch taken early and not yet released counts), or the mailbox is
    /// finished, or the sending task is cancelled. The event is consumed before
    /// the wait, so the records queued are the mailbox's alone and the loop can
    /// move their events out without copying them.
    func send(_ event: consuming DecodedEvent) async {
        if case .records(let batch) = event, batch.isEmpty { return }
        let isRecords = if case .records = event { true } else { false }
        var pending: DecodedEvent? = consume event
        let handOver = state.withLock { state -> (receiver: CheckedContinuation<DecodedEvent?, Never>, event: DecodedEvent)? in
            guard !state.finished, let event = pending.take() else { return nil }
            if let receiver = state.receiver {
                state.receiver = nil
                return (receiver, event)
            }
            switch event {
            case .records(let batch):
                if state.open.count + batch.count > maxRecords { state.closeOpen() }
                // Deliveries join the batch as they are: no record is copied.
                state.open.append(contentsOf: batch)
                state.records += batch.count
            case .tick:
                state.tickPending = true
            case .assigned, .revoked:
                state.closeOpen()
                state.closed.append(event)
            }
            return nil
        }
        if let handOver {
            handOver.receiver.resume(returning: handOver.event)
            return
        }
        guard isRecords else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let wait = state.withLock { state -> Bool in
                    guard !state.finished, !state.hasRoom(maxRecords), !Task.isCancelled else { return false }
                    precondition(state.sender == nil, "DecodedMailbox: one task sends records")
                    state.sender = continuation
                    return true
                }
                if !wait { continuation.resume() }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.sender = nil }
                return state.sender
            }?.resume()
        }
    }

    /// The next event: the first assignment, revocation or closed batch queued,
    /// else every record gathered so far, else a pending tick, else the next event
    /// sent. Nil once finished and empty, or when the receiving task is cancelled.
    func next() async -> DecodedEvent? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<DecodedEvent?, Never>) in
                let (event, waiting, sender) = state.withLock { state -> (DecodedEvent?, Bool, CheckedContinuation<Void, Never>?) in
                    if let event = state.take() {
                        var sender: CheckedContinuation<Void, Never>?
                        if state.hasRoom(maxRecords) {
                            sender = state.sender
                            state.sender = nil
                        }
                        return (event, false, sender)
                    }
                    guard !state.finished, !Task.isCancelled else { return (nil, false, nil) }
                    precondition(state.receiver == nil, "DecodedMailbox: one task takes events")
                    state.receiver = continuation
                    return (nil, true, nil)
                }
                sender?.resume()
                if !waiting { continuation.resume(returning: event) }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.receiver = nil }
                return state.receiver
            }?.resume(returning: nil)
        }
    }

    /// The next event if it is a batch of records closed for taking (gathered up
    /// to `maxRecords`, or closed early by an assignment or a revocation behind
    /// it) or an open batch gathered up to `maxRecords`: the loop takes it early,
    /// to prepare it while the current batch is written. Nil, taking nothing,
    /// otherwise. Never waits.
    ///
    /// The batch taken counts against the bound until ``releaseAhead()``: the
    /// loop must call it when it starts applying that batch (or ``finish()``
    /// when it stops), or the sender waits for room for ever. One batch at a
    /// time is taken early.
    func takeFullBatch() -> DecodedRecords? {
        let (records, sender) = state.withLock { state -> (DecodedRecords?, CheckedContinuation<Void, Never>?) in
            let full: Bool
            switch state.closed.first {
            case .records: full = true
            case nil: full = state.open.count >= maxRecords
            default: full = false
            }
            guard full, case .records(let batch) = state.take() else { return (nil, nil) }
            precondition(state.ahead == 0, "DecodedMailbox: a batch taken early was not released")
            state.ahead = batch.count
            guard state.hasRoom(maxRecords) else { return (batch, nil) }
            defer { state.sender = nil }
            return (batch, state.sender)
        }
        sender?.resume()
        return records
    }

    /// The loop applies the batch it took early (or drops it): its records no
    /// longer count against the bound, and a waiting sender goes on if that
    /// made room.
    func releaseAhead() {
        let sender = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.ahead = 0
            guard state.hasRoom(maxRecords) else { return nil }
            defer { state.sender = nil }
            return state.sender
        }
        sender?.resume()
    }

    /// Whether the loop waits in ``next()`` (for tests).
    var hasWaitingReceiver: Bool { state.withLock { $0.receiver != nil } }
    /// Whether a sender of records waits for room (for tests).
    var hasWaitingSender: Bool { state.withLock { $0.sender != nil } }

    /// Ends the mailbox: waiting senders return, the loop takes what is queued and
    /// then gets nil.
    func finish() {
        let (receiver, sender) = state.withLock { state in
            state.finished = true
            defer {
                state.receiver = nil
                state.sender = nil
            }
            return (state.receiver, state.sender)
        }
        receiver?.resume(returning: nil)
        sender?.resume()
    }
}

/// The records of one batch: the decoded deliveries as they arrived, kept as
/// separate chunks, so gathering a batch of tens of thousands of records copies
/// none of them (a copy retains every reference an event holds, and the release of
/// the original costs as much again).
struct DecodedRecords: Sendable {
    /// The deliveries, in order.
    private(set) var chunks: [[DecodedRecord]] = []
    /// Records in all chunks.
    private(set) var count = 0

    /// The records of one delivery.
    init(_ records: consuming [DecodedRecord] = []) {
        append(records)
    }

    var isEmpty: Bool { count == 0 }

    /// Adds a delivery at the end.
    mutating func append(_ records: consuming [DecodedRecord]) {
        let added = records.count
        guard added > 0 else { return }
        count += added
        chunks.append(records)
    }

    /// Adds another batch's deliveries at the end.
    mutating func append(contentsOf other: DecodedRecords) {
        for chunk in other.chunks { append(chunk) }
    }

    /// Calls `body` with each record in order, in place. The runtime moves the
    /// events out (``DecodedRecord/take()``) instead of copying them; a chunk
    /// shared with another holder is copied first, so either way is correct.
    mutating func forEachInPlace(_ body: (inout DecodedRecord) throws -> Void) rethrows {
        for index in chunks.indices {
            try chunks[index].withUnsafeMutableBufferPointer { buffer in
                for position in buffer.indices { try body(&buffer[position]) }
            }
        }
    }

    /// The partitions the records come from (read once per run of one partition).
    var partitions: Set<KafkaTopicPartition> {
        var result = Set<KafkaTopicPartition>()
        for chunk in chunks {
            chunk.withUnsafeBufferPointer { buffer in
                var runStart: Int?
                for index in buffer.indices {
                    if let start = runStart, buffer[start].partition == buffer[index].partition, buffer[start].topic == buffer[index].topic { continue }
                    runStart = index
                    result.insert(buffer[index].topicPartition)
                }
            }
        }
        return result
    }

    /// Every record, in order (a copy: for tests and rare paths).
    var all: [DecodedRecord] { chunks.flatMap { $0 } }
}
