import Testing
@testable import Kafka

@Suite("Event handoff")
struct EventHandoffTests {
    @Test("closing with an element waiting gives its slot back, so the handoff can be freed")
    func closeWithBufferedElement() async {
        // libdispatch traps (and the test process dies) when a semaphore is freed
        // with fewer slots than it was created with.
        do {
            let handoff = EventHandoff<Int>(capacity: 1)
            #expect(handoff.push(1))
            handoff.close()
            #expect(!handoff.push(2), "a closed handoff refuses elements")
            #expect(await handoff.next() == nil, "buffered elements are dropped on close")
        }
    }
}
