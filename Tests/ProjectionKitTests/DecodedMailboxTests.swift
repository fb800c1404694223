import Events
import Synchronization
import Testing
@testable import Kafka
@testable import ProjectionKit

@Suite("Decoded mailbox", .timeLimit(.minutes(1)))
struct DecodedMailboxTests {
    /// `count` records of partition 0 from `offset` on.
    static func records(_ offset: Int64, _ count: Int) -> DecodedEvent {
        .records(DecodedRecords((offset..<offset + Int64(count)).map {
            DecodedRecord(topic: "t", partition: 0, offset: $0, outcome: .skipped(EventTime(microseconds: $0)))
        }))
    }

    /// What an event is, in a form tests compare: offsets of records, or a name.
    static func describe(_ event: DecodedEvent?) -> String {
        switch event {
        case .records(let records)?: "records \(records.all.first!.offset)..<\(records.all.last!.offset + 1)"
        case .tick?: "tick"
        case .assigned?: "assigned"
        case .revoked?: "revoked"
        case nil: "end"
        }
    }

    /// Waits until `condition` holds (a task has reached the state a test needs).
    static func eventually(_ condition: () -> Bool) async throws {
        while !condition() { try await Task.sleep(for: .milliseconds(5)) }
    }

    /// A task sending `records`, once it waits for room.
    static func waitingSender(_ mailbox: DecodedMailbox, _ records: DecodedEvent) async throws -> Task<Void, Never> {
        let sender = Task { await mailbox.send(records) }
        try await eventually { mailbox.hasWaitingSender }
        return sender
    }

    /// A task taking the next event, once it waits for one.
    static func waitingReceiver(_ mailbox: DecodedMailbox) async throws -> Task<DecodedEvent?, Never> {
        let receiver = Task { await mailbox.next() }
        try await eventually { mailbox.hasWaitingReceiver }
        return receiver
    }

    @Test("records sent while the loop is busy gather into one batch, up to the limit, in order")
    func gathersUpToTheLimit() async throws {
        let mailbox = DecodedMailbox(maxRecords: 10)
        await mailbox.send(Self.records(0, 4))
        await mailbox.send(Self.records(4, 4))
        // 8 + 4 would pass the limit: these start the next batch, and with 12
        // records waiting the sender waits for the loop.
        let sender = try await Self.waitingSender(mailbox, Self.records(8, 4))
        #expect(Self.describe(await mailbox.next()) == "records 0..<8")
        #expect(Self.describe(await mailbox.next()) == "records 8..<12")
        await sender.value
    }

    @Test("a delivery sent while the loop waits is handed over at once")
    func waitingLoopGetsDeliveryAtOnce() async throws {
        let mailbox = DecodedMailbox(maxRecords: 1000)
        let taken = try await Self.waitingReceiver(mailbox)
        await mailbox.send(Self.records(0, 3))
        await mailbox.send(Self.records(3, 3))
        #expect(Self.describe(await taken.value) == "records 0..<3")
        #expect(Self.describe(await mailbox.next()) == "records 3..<6")
    }

    @Test("assignments and revocations keep their place between records")
    func assignmentsKeepTheirPlace() async {
        let mailbox = DecodedMailbox(maxRecords: 100)
        let partition = KafkaTopicPartition(topic: "t", partition: 0)
        await mailbox.send(Self.records(0, 2))
        await mailbox.send(.revoked(KafkaRevocation(partitions: [partition], lost: false)))
        await mailbox.send(Self.records(2, 2))
        await mailbox.send(.assigned(KafkaAssignment(partitions: [partition])))
        await mailbox.send(Self.records(4, 2))
        var seen: [String] = []
        for _ in 0..<5 { seen.append(Self.describe(await mailbox.next())) }
        #expect(seen == ["records 0..<2", "revoked", "records 2..<4", "assigned", "records 4..<6"])
    }

    @Test("ticks neither split the batch gathering nor pile up; a tick comes once nothing else waits")
    func ticks() async throws {
        let mailbox = DecodedMailbox(maxRecords: 100)
        await mailbox.send(Self.records(0, 2))
        await mailbox.send(.tick)
        await mailbox.send(.tick)
        await mailbox.send(Self.records(2, 2))
        await mailbox.send(.tick)
        await mailbox.send(Self.records(4, 4))
        #expect(Self.describe(await mailbox.next()) == "records 0..<8")
        #expect(Self.describe(await mailbox.next()) == "tick")
        // Nothing waits now: the loop waits for the next event.
        let taken = try await Self.waitingReceiver(mailbox)
        await mailbox.send(.tick)
        #expect(Self.describe(await taken.value) == "tick")
    }

    @Test("a sender waits while a full batch waits, and goes on once the loop takes it")
    func backPressure() async throws {
        let mailbox = DecodedMailbox(maxRecords: 5)
        let returned = Atomic<Bool>(false)
        let sender = Task {
            await mailbox.send(Self.records(0, 5))
            returned.store(true, ordering: .sequentiallyConsistent)
        }
        try await Self.eventually { mailbox.hasWaitingSender }
        let returnedEarly = returned.load(ordering: .sequentiallyConsistent)
        #expect(!returnedEarly, "five records wait: the sender must wait for room")
        #expect(Self.describe(await mailbox.next()) == "records 0..<5")
        await sender.value
        let returnedAfterTake = returned.load(ordering: .sequentiallyConsistent)
        #expect(returnedAfterTake)
    }

    @Test("finishing releases a waiting sender, delivers what is queued, then ends")
    func finish() async throws {
        let mailbox = DecodedMailbox(maxRecords: 2)
        let sender = try await Self.waitingSender(mailbox, Self.records(0, 3))
        mailbox.finish()
        await sender.value
        #expect(Self.describe(await mailbox.next()) == "records 0..<3")
        #expect(Self.describe(await mailbox.next()) == "end")
        await mailbox.send(.tick)
        #expect(Self.describe(await mailbox.next()) == "end", "nothing is queued after the end")
    }

    @Test("finishing ends a waiting loop")
    func finishEndsWaitingLoop() async throws {
        let mailbox = DecodedMailbox(maxRecords: 10)
        let taken = try await Self.waitingReceiver(mailbox)
        mailbox.finish()
        #expect(Self.describe(await taken.value) == "end")
    }

    @Test("a sender waiting for room that is cancelled returns; its records stay queued")
    func cancelledSender() async throws {
        let mailbox = DecodedMailbox(maxRecords: 2)
        let sender = try await Self.waitingSender(mailbox, Self.records(0, 2))
        sender.cancel()
        await sender.value
        #expect(!mailbox.hasWaitingSender)
        #expect(Self.describe(await mailbox.next()) == "records 0..<2")
    }

    @Test("a waiting loop that is cancelled gets nil")
    func cancelledReceiver() async throws {
        let mailbox = DecodedMailbox(maxRecords: 10)
        let receiver = try await Self.waitingReceiver(mailbox)
        receiver.cancel()
        #expect(Self.describe(await receiver.value) == "end")
        // The mailbox still works for the next receiver.
        await mailbox.send(Self.records(0, 1))
        #expect(Self.describe(await mailbox.next()) == "records 0..<1")
    }

    @Test("a full batch can be taken early; a gathering one, or one behind an assignment, cannot")
    func takeFullBatch() async throws {
        let mailbox = DecodedMailbox(maxRecords: 6)
        await mailbox.send(Self.records(0, 4))
        #expect(mailbox.takeFullBatch() == nil, "four of six records: still gathering")
        let sender = try await Self.waitingSender(mailbox, Self.records(4, 2))
        let full = mailbox.takeFullBatch()
        #expect(full.map { Self.describe(.records($0)) } == "records 0..<6")
        // A batch taken early still counts: the sender waits until the loop
        // starts applying it.
        try await Task.sleep(for: .milliseconds(20))
        #expect(mailbox.hasWaitingSender)
        mailbox.releaseAhead()
        await sender.value
        #expect(mailbox.takeFullBatch() == nil, "nothing waits")

        await mailbox.send(Self.records(6, 2))
        // 2 + 5 pass the limit: the first two records close as a batch of their
        // own (such a closed batch is taken as it is), and with seven records
        // waiting the sender waits; taking the two early leaves five of six, and
        // the two still count until released.
        let second = try await Self.waitingSender(mailbox, Self.records(8, 5))
        #expect(mailbox.takeFullBatch().map { Self.describe(.records($0)) } == "records 6..<8")
        try await Task.sleep(for: .milliseconds(20))
        #expect(mailbox.hasWaitingSender)
        mailbox.releaseAhead()
        await second.value
        #expect(Self.describe(await mailbox.next()) == "records 8..<13")

        // An assignment waits first: records behind it stay behind it.
        let partition = KafkaTopicPartition(topic: "t", partition: 0)
        await mailbox.send(.assigned(KafkaAssignment(partitions: [partition])))
        let behind = try await Self.waitingSender(mailbox, Self.records(13, 6))
        #expect(mailbox.takeFullBatch() == nil)
        #expect(Self.describe(await mailbox.next()) == "assigned")
        #expect(mailbox.takeFullBatch().map { Self.describe(.records($0)) } == "records 13..<19")
        mailbox.releaseAhead()
        await behind.value
    }

    @Test("taking the outcomes out of records leaves a copy held elsewhere as it was")
    func takeLeavesSharedCopies() {
        var records = DecodedRecords((0..<3).map {
            DecodedRecord(topic: "t", partition: 0, offset: $0, outcome: .skipped(EventTime(microseconds: 100 + $0)))
        })
        records.append((3..<5).map {
            DecodedRecord(topic: "t", partition: 1, offset: $0, outcome: .skipped(EventTime(microseconds: 100 + $0)))
        })
        let held = records
        var taken: [Int64] = []
        records.forEachInPlace { record in
            if case .skipped(let time) = record.take() { taken.append(time.microseconds) }
        }
        #expect(taken == [100, 101, 102, 103, 104], "every outcome, in order")
        #expect(records.all.allSatisfy { if case .skipped(let time) = $0.outcome { time.microseconds == 0 } else { false } }, "emptied")
        #expect(records.all.map(\.offset) == [0, 1, 2, 3, 4], "positions stay")
        let heldTimes = held.all.map { record -> Int64 in
            if case .skipped(let time) = record.outcome { return time.microseconds }
            return -1
        }
        #expect(heldTimes == [100, 101, 102, 103, 104])
        #expect(held.count == 5 && held.chunks.count == 2)
        #expect(records.partitions == [KafkaTopicPartition(topic: "t", partition: 0), KafkaTopicPartition(topic: "t", partition: 1)])
    }

    @Test("readiness: a waiter learns whether the batch became ready before it ended")
    func readiness() async throws {
        let ready = BatchReadiness()
        let waiter = Task { await ready.wait() }
        try await Self.eventually { ready.hasWaiter }
        ready.ready()
        ready.end()
        #expect(await waiter.value)
        #expect(await ready.wait(), "settled: later waiters get the same answer")
        #expect(ready.hasEnded)

        let notReady = BatchReadiness()
        let early = Task { await notReady.wait() }
        try await Self.eventually { notReady.hasWaiter }
        #expect(!notReady.hasEnded)
        notReady.end()
        notReady.ready()
        #expect(await early.value == false, "ended first: a later ready changes nothing")
    }
}
