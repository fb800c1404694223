import Synchronization

/// The decoded consumer events between the decoding task and the batch loop.
///
/// The consumer delivers small chunks of messages and the decoding task decodes
/// each as it comes; here the records gather into the next batch while the loop
/// applies the current one, up to `maxRecords`. The loop takes whatever waits when
/// it is ready: an idle worker applies each delivery at once (freshness), a busy
/// one gets batches as large as the limit (fewer writes per event). Raw messages
/// never pile up behind a whole batch: besides the batch being applied, at most
/// one batch of decoded records (plus one chunk) waits in memory.
///
/// Order is kept: records decoded after an assignment, a revocation or a tick
/// stay behind it. Back-pressure: ``send(_:)`` of records returns only once fewer
/// than `maxRecords` records wait. A tick is not queued behind another tick.
/// One task sends records; any task may send the other events.
final class DecodedMailbox: Sendable {
    private struct State {
        /// Events ready to take, before ``open``.
        var closed: [DecodedEvent] = []
        /// The records gathering behind ``closed``.
        var open: [DecodedRecord] = []
        /// Records waiting in ``closed`` and ``open``.
        var records = 0
        var finished = false
        var receiver: CheckedContinuation<DecodedEvent?, Never>?
        var sender: CheckedContinuation<Void, Never>?

        mutating func take() -> DecodedEvent? {
            if !closed.isEmpty {
                let event = closed.removeFirst()
                if case .records(let batch) = event { records -= batch.count }
                return event
            }
            guard !open.isEmpty else { return nil }
            let batch = open
            open = []
            records -= batch.count
            return .records(batch)
        }

        mutating func closeOpen() {
            guard !open.isEmpty else { return }
            closed.append(.records(open))
            open = []
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
    /// room after queuing: this returns once fewer than `maxRecords` records wait,
    /// or the mailbox is finished, or the sending task is cancelled.
    func send(_ event: DecodedEvent) async {
        let receiver = state.withLock { state -> CheckedContinuation<DecodedEvent?, Never>? in
            guard !state.finished else { return nil }
            if let receiver = state.receiver {
                state.receiver = nil
                return receiver
            }
            switch event {
            case .records(let batch):
                guard !batch.isEmpty else { return nil }
                if state.open.count + batch.count > maxRecords { state.closeOpen() }
                if state.open.isEmpty { state.open = batch } else { state.open.append(contentsOf: batch) }
                state.records += batch.count
            case .tick:
                if state.open.isEmpty, case .tick? = state.closed.last { return nil }
                state.closeOpen()
                state.closed.append(event)
            case .assigned, .revoked:
                state.closeOpen()
                state.closed.append(event)
            }
            return nil
        }
        if let receiver {
            receiver.resume(returning: event)
            return
        }
        guard case .records = event else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let wait = state.withLock { state -> Bool in
                    guard !state.finished, state.records >= maxRecords, !Task.isCancelled else { return false }
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

    /// The next event: everything gathered so far if records wait, else the first
    /// event queued, else the next one sent. Nil once finished and empty, or when
    /// the receiving task is cancelled.
    func next() async -> DecodedEvent? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<DecodedEvent?, Never>) in
                let (event, waiting, sender) = state.withLock { state -> (DecodedEvent?, Bool, CheckedContinuation<Void, Never>?) in
                    if let event = state.take() {
                        var sender: CheckedContinuation<Void, Never>?
                        if state.records < maxRecords {
                            sender = state.sender
                            state.sender = nil
                        }
                        return (event, false, sender)
                    }
                    guard !state.finished, !Task.isCancelled else { return (nil, false, nil) }
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
