@testable import Alerts
import Events
import Foundation
import Kafka
import Logging
import PostgresNIO
import ProjectionKit
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
        let types = AlertsProjection().eventTypes
        let placeholder = KafkaMessage(topic: "t", partition: 0, offset: 0, key: nil, value: [], headers: [])
        let projected = stream.filter { types.contains($0.type) }.map { ProjectedEvent(event: $0, message: placeholder, keepingRecord: false) }
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

    /// Applies each batch through `projections` in turn, each batch prepared by
    /// the projection that applies it (`ahead`) or not at all.
    static func apply(_ batches: [[ProjectedEvent]], with projections: [AlertsProjection], ahead: Bool, database: TestDatabase) async throws {
        try await PostgresClient.withClient(database.settings, logger: quietLogger()) { client in
            try await projections[0].migrate(client: client, logger: quietLogger())
            for (index, batch) in batches.enumerated() {
                let projection = projections[index % projections.count]
                let prepared = ahead ? await projection.prepare(batch) : nil
                try await projection.applyStandalone(batch, prepared: prepared, client: client, logger: quietLogger(), now: batch.last!.event.time)
            }
        }
    }

    @Test("one worker: batches prepared from its cache write what batches evaluated from the stored rows write")
    func preparedEqualsStored() async throws {
        let batches = Self.batches()
        #expect(batches.count >= 9)
        let reference = try await TestDatabase.create()
        // A new projection per batch has nothing cached: every batch is evaluated
        // from the stored rows.
        try await Self.apply(batches, with: batches.map { _ in AlertsProjection() }, ahead: false, database: reference)
        let prepared = try await TestDatabase.create()
        let projection = AlertsProjection()
        try await Self.apply(batches, with: [projection], ahead: true, database: prepared)

        let expected = try await Self.stored(reference)
        let actual = try await Self.stored(prepared)
        #expect(expected.contains { $0.hasPrefix("change ") }, "the workload raises alerts")
        #expect(actual.count == expected.count)
        #expect(actual == expected, "\(Self.difference(actual, expected))")
        // Only the first batches (subjects not cached yet) are evaluated from the
        // stored rows; none is discarded.
        #expect(projection.optimism.counts.hits >= batches.count - 2)
        #expect(projection.optimism.counts.misses == 0)
        await reference.drop()
        await prepared.drop()
    }

    @Test("two workers sharing subjects: an evaluation from subjects the other wrote since is discarded, and the result is the same")
    func sharedSubjects() async throws {
        let batches = Self.batches()
        let reference = try await TestDatabase.create()
        try await Self.apply(batches, with: [AlertsProjection()], ahead: true, database: reference)
        let shared = try await TestDatabase.create()
        let first = AlertsProjection()
        let second = AlertsProjection()
        try await Self.apply(batches, with: [first, second], ahead: true, database: shared)

        let expected = try await Self.stored(reference)
        let actual = try await Self.stored(shared)
        #expect(actual.count == expected.count)
        #expect(actual == expected, "\(Self.difference(actual, expected))")
        let discarded = first.optimism.counts.misses + second.optimism.counts.misses
        #expect(discarded > 0, "each worker's cache goes stale when the other writes")
        await reference.drop()
        await shared.drop()
    }
}
