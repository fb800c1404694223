import Dispatch
import Synchronization

/// A bounded channel from one of our threads to one async consumer.
///
/// `push` blocks the calling thread (never a Swift concurrency thread) while
/// `capacity` elements are waiting, which is how a slow caller slows the Kafka poll
/// thread down instead of growing memory. `next` suspends until an element arrives
/// or the channel closes.
final class EventHandoff<Element: Sendable>: Sendable {
    private struct State {
        var buffer: [Element] = []
        var waiter: CheckedContinuation<Element?, Never>?
        var closed = false
    }

    private let state = Mutex(State())
    private let space: DispatchSemaphore

    init(capacity: Int) {
        space = DispatchSemaphore(value: capacity)
    }

    /// Blocks until there is room or the channel closes. Returns false when closed
    /// (the element is dropped).
    func push(_ element: Element) -> Bool {
        while space.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
            if isClosed { return false }
        }
        let waiter = state.withLock { state -> CheckedContinuation<Element?, Never>?? in
            if state.closed { return .none }
            if let waiter = state.waiter {
                state.waiter = nil
                return .some(waiter)
            }
            state.buffer.append(element)
            return .some(nil)
        }
        switch waiter {
        case .none:
            space.signal()
            return false
        case .some(.some(let waiter)):
            // Handed over directly: the element never occupied a slot.
            space.signal()
            waiter.resume(returning: element)
            return true
        case .some(.none):
            return true
        }
    }

    /// The next element, or `nil` once the channel is closed or the task cancelled.
    /// One caller at a time.
    func next() async -> Element? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                let ready = state.withLock { state -> Element?? in
                    if !state.buffer.isEmpty { return .some(state.buffer.removeFirst()) }
                    if state.closed || Task.isCancelled { return .some(nil) }
                    precondition(state.waiter == nil, "EventHandoff has one consumer at a time")
                    state.waiter = continuation
                    return .none
                }
                if case .some(let element) = ready {
                    if element != nil { space.signal() }
                    continuation.resume(returning: element)
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// Closes the channel: buffered elements are dropped, a waiting `next` returns
    /// `nil`, and later pushes fail.
    func close() {
        let (waiter, dropped) = state.withLock { state -> (CheckedContinuation<Element?, Never>?, Int) in
            state.closed = true
            let dropped = state.buffer.count
            state.buffer.removeAll()
            defer { state.waiter = nil }
            return (state.waiter, dropped)
        }
        // Give back the dropped elements' slots: libdispatch traps when a semaphore
        // is freed with a lower count than it was created with.
        for _ in 0..<dropped { space.signal() }
        waiter?.resume(returning: nil)
    }
}
