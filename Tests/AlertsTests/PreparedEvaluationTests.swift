@testable import Alerts
import Events
import Foundation
import Kafka
import Logging
import PostgresNIO
@testable import ProjectionKit
import Simulator
import Testing
import WorkerTestSupport

/// Batches evaluated from the cache (``AlertsProjection/prepare(_:)``) must write
/// exactly what the stored rows give.
@Suite("Alerts evaluated from cached subjects", .serialized, .timeLimit(.minutes(4)))
struct PreparedEvaluationTests {
    /// A simulated fleet's events in batches of 1,000.
    static func batches() -> [[ProjectedEvent]] {
        var workload = PatientWorkload(patients: 60, devices: 150, seed: 7)
        var stream = workload.setup()
        stream += workload.stream(9000)
        let projected = AlertsProjection().standalone(stream)
        return stride(from: 0, to: projected.count, by: 1000).map { Array(projected[$0..<min($0 + 1000, projected.count)]) }
    }

    /// Every stored subject, alert and change, as comparable text (changes in
    /// the order they were appended).
    static func stored(_ database: TestDatabase) async throws -> [String] {
        try await database.withClient { client in
            var rows: [String] = []
            for try await (key, state, due) in try await client.query(
                "SELECT subject_key, state::text, coalesce(next_due_at::text, '') FROM alerts.subjects ORDER BY subject_key"
            ).decode((String, String, String).self) {
                rows.append("subject \(key) \(due) \(state)")
            }
            for try await (id, status, priority, facility, snapshot) in try await client.query(
                "SELECT alert_id, status, priority, coalesce(facility_id, ''), snapshot::text FROM alerts.alerts ORDER BY alert_id"
            ).decode((String, String, String, String, String).self) {
                rows.append("alert \(id) \(status) \(priority) \(facility) \(snapshot)")
            }
            for try await (id, version, snapshot) in try await client.query(
                "SELECT alert_id, version, snapshot::text FROM alerts.changes ORDER BY seq"
            ).decode((String, Int32, String).self) {
                rows.append("change \(id) v\(version) \(snapshot)")
            }
            return rows
        }
    }

    /// The first rows that differ, shortened.
    static func difference(_ actual: [String], _ expected: [String]) -> String {
        let extra = Set(actual).subtracting(expected)
        let missing = Set(expected).subtracting(actual)
        func short(_ rows: Set<String>) -> String { rows.sorted().prefix(3).map { String($0.prefix(400)) }.joined(separator: "\n") }
        return "\(extra.count) extra, \(missing.count) missing\nextra:\n\(short(extra))\nmissing:\n\(short(missing))"
    }

    /// How a batch's preparation reaches `apply`.
    enum Preparation {
        /// Not prepared.
        case none
        /// Prepared by the projection that applies it.
        case ahead
        /// Prepared, applied in a transaction that rolls back, then applied again
        /// with the same preparation (a retried batch). (A batch evaluated from
        /// the stored rows whose transaction fails leaves cache entries under a
        /// version PostgreSQL never holds: the retry discards one evaluation, as
        /// if another worker had written, and is correct either way.)
        case retried
        /// Prepared, then dropped (as the runtime does after fencing): the
        /// dropped result is in the cache, so the batch's own evaluation from the
        /// cache is discarded and it is evaluated from the stored rows.
        case dropped
    }

    struct Rollback: Error {}

    /// Applies each batch through `projections` in turn.
    static func apply(_ batches: [[ProjectedEvent]], with projections: [AlertsProjection], _ preparation: Preparation, database: TestDatabase) async throws {
        try await PostgresClient.withClient(database.settings, logger: quietLogger()) { client in
            try await projections[0].migrate(client: client, logger: quietLogger())
            for (index, batch) in batches.enumerated() {
                let projection = projections[index % projections.count]
                let now = batch.last!.event.time
                var prepared: (any Sendable)?
                switch preparation {
                case .none: break
                case .ahead: prepared = await projection.prepare(batch)
                case .dropped: _ = await projection.prepare(batch)
                case .retried:
                    prepared = await projection.prepare(batch)
                    guard prepared != nil else { break }
                    do {
                        try await client.withTransaction(logger: quietLogger()) { connection in
                            try await projection.apply(batch, prepared: prepared, in: ProjectionContext(connection: connection, logger: quietLogger(), now: now))
                            throw Rollback()
                        }
                    } catch {}
                }
                try await projection.applyStandalone(batch, prepared: prepared, client: client, logger: quietLogger(), now: now)
            }
        }
    }

    /// The stored result of every batch evaluated from the stored rows (a new
    /// projection per batch has nothing cached).
    static func reference(_ batches: [[ProjectedEvent]]) async throws -> [String] {
        let database = try await TestDatabase.create()
        try await apply(batches, with: batches.map { _ in AlertsProjection() }, .none, database: database)
        let rows = try await stored(database)
        await database.drop()
        return rows
    }

    @Test("one worker: batches prepared from its cache write what batches evaluated from the stored rows write, also when a batch is retried or its preparation dropped")
    func preparedEqualsStored() async throws {
        let batches = Self.batches()
        #expect(batches.count >= 9)
        let expected = try await Self.reference(batches)
        #expect(expected.contains { $0.hasPrefix("change ") }, "the workload raises alerts")
        for preparation in [Preparation.ahead, .retried, .dropped] {
            let database = try await TestDatabase.create()
            let projection = AlertsProjection()
            try await Self.apply(batches, with: [projection], preparation, database: database)
            let actual = try await Self.stored(database)
            #expect(actual.count == expected.count, "\(preparation)")
            #expect(actual == expected, "\(preparation): \(Self.difference(actual, expected))")
            // Only the first batches (subjects not cached yet) are evaluated from
            // the stored rows; none is discarded, unless its preparation was.
            if preparation != .dropped {
                #expect(projection.optimism.counts.hits >= batches.count - 2, "\(preparation)")
                #expect(projection.optimism.counts.misses == 0, "\(preparation)")
            } else {
                #expect(projection.optimism.counts.misses > 0)
            }
            await database.drop()
        }
    }

    @Test("two workers sharing subjects: an evaluation from subjects the other wrote since is discarded, and the result is the same")
    func sharedSubjects() async throws {
        let batches = Self.batches()
        let expected = try await Self.reference(batches)
        let shared = try await TestDatabase.create()
        let first = AlertsProjection()
        let second = AlertsProjection()
        try await Self.apply(batches, with: [first, second], .ahead, database: shared)
        let actual = try await Self.stored(shared)
        #expect(actual.count == expected.count)
        #expect(actual == expected, "\(Self.difference(actual, expected))")
        let discarded = first.optimism.counts.misses + second.optimism.counts.misses
        #expect(discarded > 0, "each worker's cache goes stale when the other writes")
        await shared.drop()
    }

    @Test("a tick writes the subjects it evaluates: a silent device's offline alert opens once, and the next tick finds nothing due")
    func tickWritesSubjects() async throws {
        let database = try await TestDatabase.create()
        let projection = AlertsProjection()
        let start = EventTime(microseconds: 1_764_000_000_000_000)
        let heartbeat = Event(id: "hb-1", source: "urn:test", time: start, payload: .deviceHeartbeat(DeviceHeartbeat(deviceId: "dev-silent", batteryPercent: 80)))
        try await PostgresClient.withClient(database.settings, logger: quietLogger()) { client in
            try await projection.migrate(client: client, logger: quietLogger())
            try await projection.applyStandalone([ProjectedEvent(standalone: heartbeat)], client: client, logger: quietLogger(), now: start)
            // Three 60 s heartbeat intervals of silence, and then some.
            let later = start.adding(.seconds(200))
            func tick() async throws {
                try await client.withTransaction(logger: quietLogger()) { connection in
                    try await projection.tick(in: ProjectionContext(connection: connection, logger: quietLogger(), now: later, caughtUp: true))
                }
            }
            func changes() async throws -> [String] {
                var rows: [String] = []
                for try await (id, version) in try await client.query("SELECT alert_id, version FROM alerts.changes ORDER BY seq").decode((String, Int32).self) {
                    rows.append("\(id) v\(version)")
                }
                return rows
            }
            try await tick()
            let afterFirst = try await changes()
            #expect(afterFirst.count == 1, "\(afterFirst)")
            var state = ""
            for try await value in try await client.query("SELECT state::text FROM alerts.subjects WHERE subject_key = 'device:dev-silent'").decode(String.self) { state = value }
            #expect(state.contains("device.offline"), "the subject's tracks name the open alert")
            try await tick()
            #expect(try await changes() == afterFirst, "nothing was due any more")
        }
        let alerts = try await storedAlerts(database)
        #expect(alerts.values.map(\.status) == ["open"])
        await database.drop()
    }

    @Test("a batch keeps an earlier stored due time; the clock's evaluation finds nothing due then, changes nothing and stores the exact time")
    func storedDueTimeIsALowerBound() async throws {
        let database = try await TestDatabase.create()
        let projection = AlertsProjection()
        let start = EventTime(microseconds: 1_764_000_000_000_000)
        @Sendable func heartbeat(_ id: String, at time: EventTime) -> ProjectedEvent {
            ProjectedEvent(standalone: Event(id: id, source: "urn:test", time: time, payload: .deviceHeartbeat(DeviceHeartbeat(deviceId: "dev-1", batteryPercent: 80))))
        }
        // The offline rule falls due three 60 s heartbeat intervals after the last event.
        @Sendable func offlineDue(after lastSeen: EventTime) -> Int64 { lastSeen.adding(.seconds(180)).microseconds + 1 }
        try await PostgresClient.withClient(database.settings, logger: quietLogger()) { client in
            try await projection.migrate(client: client, logger: quietLogger())
            func stored() async throws -> (due: Int64?, version: Int64) {
                var result: (Int64?, Int64) = (nil, 0)
                for try await row in try await client.query("""
                    SELECT (extract(epoch FROM next_due_at) * 1000000)::int8, version FROM alerts.subjects WHERE subject_key = 'device:dev-1'
                    """).decode((Int64?, Int64).self) {
                    result = row
                }
                return result
            }
            func changes() async throws -> Int64 {
                var count: Int64 = -1
                for try await value in try await client.query("SELECT count(*)::int8 FROM alerts.changes").decode(Int64.self) { count = value }
                return count
            }
            func tick(at now: EventTime) async throws {
                try await client.withTransaction(logger: quietLogger()) { connection in
                    try await projection.tick(in: ProjectionContext(connection: connection, logger: quietLogger(), now: now, caughtUp: true))
                }
            }
            try await projection.applyStandalone([heartbeat("hb-1", at: start)], client: client, logger: quietLogger(), now: start)
            #expect(try await stored().due == offlineDue(after: start))
            // A later heartbeat moves the rule's due time on; the earlier one stays.
            let second = start.adding(.seconds(60))
            try await projection.applyStandalone([heartbeat("hb-2", at: second)], client: client, logger: quietLogger(), now: second)
            #expect(try await stored().due == offlineDue(after: start), "the earlier stored time is kept")
            // Past the stored time but before the device is offline: the clock
            // evaluates it, nothing changes, and the exact time is stored.
            let now = start.adding(.seconds(200))
            try await tick(at: now)
            #expect(try await changes() == 0)
            let exact = try await stored()
            #expect(exact.due == offlineDue(after: second), "the clock stores the exact due time")
            try await tick(at: now)
            #expect(try await stored().version == exact.version, "nothing is due any more, so nothing is written")
            // Past the exact time: the device is offline.
            try await tick(at: start.adding(.seconds(241)))
            #expect(try await changes() == 1)
        }
        await database.drop()
    }
}
