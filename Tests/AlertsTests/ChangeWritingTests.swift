@testable import Alerts
import Events
import Foundation
import PostgresNIO
@testable import ProjectionKit
import Testing
import WorkerTestSupport

/// `AlertsStore.write(changes:existing:to:)` against PostgreSQL, with more
/// changes than one statement takes.
@Suite("Alert changes written in several statements", .timeLimit(.minutes(2)))
struct ChangeWritingTests {
    static let start = EventTime(microseconds: 1_764_000_000_000_000)
    /// Sent on the channel once the writes committed: every announcement came before it.
    static let endMarker = "end of test"

    /// `versions` rounds over `alerts` alerts: every alert's version 1, then
    /// every alert's version 2, and so on; the last round resolves them.
    static func changes(alerts: Int, versions: ClosedRange<Int>) -> [AlertRecord] {
        versions.flatMap { version in
            (0..<alerts).map { index in
                AlertRecord(
                    snapshot: AlertChanged(
                        alertId: String(format: "alrt-test-%05d", index), version: version, rule: AlertRule.news2High.rawValue, priority: .high,
                        status: version == versions.upperBound ? .resolved : .open, message: "NEWS2 \(version): \"quoted\" \\ text",
                        occurrences: version, escalationLevel: 0, openedAt: start, updatedAt: start.adding(.seconds(Int64(version))),
                        patientId: "pat-\(index)", facilityId: index.isMultiple(of: 2) ? "fac-1" : nil
                    ),
                    subjectKey: AlertSubject.patientKey("pat-\(index)")
                )
            }
        }
    }

    /// Writes `changes` in one transaction, as a batch does.
    static func write(_ changes: [AlertRecord], existing: Set<String>?, client: PostgresClient) async throws {
        try await client.withTransaction(logger: quietLogger()) { connection in
            let context = ProjectionContext(connection: connection, logger: quietLogger(), now: start)
            try await context.pipelined { send in try await AlertsStore.write(changes: changes, existing: existing, to: send) }
        }
    }

    @Test("every change is appended in order, each alert row holds its latest snapshot, and the notifications' ranges cover every appended change")
    func severalStatements() async throws {
        let database = try await TestDatabase.create()
        let alerts = 2_500
        // 5,500 changes of 2,500 new alerts, then 4,500 more of the same alerts
        // (their rows are updated): each more than one statement's worth of
        // changes and of alert rows.
        let first = Self.changes(alerts: alerts, versions: 1...3).filter { $0.snapshot.version < 3 || $0.id < "alrt-test-00500" }
        let second = Self.changes(alerts: alerts, versions: 3...4).filter { $0.snapshot.version == 4 || $0.id >= "alrt-test-00500" }
        let everything = first + second
        #expect(alerts > AlertsStore.changesPerStatement)
        @Sendable func statements(_ changes: [AlertRecord]) -> Int { (changes.count + AlertsStore.changesPerStatement - 1) / AlertsStore.changesPerStatement }
        let listening = try await PostgresConnection.connect(configuration: database.settings.connectionConfiguration(), id: 1, logger: quietLogger())
        try await PostgresClient.withClient(database.settings, logger: quietLogger()) { client in
            try await AlertsProjection().migrate(client: client, logger: quietLogger())
            let (ready, listens) = AsyncStream<Void>.makeStream()
            // The ranges announced, collected until the end marker this test
            // sends after both transactions committed (notifications arrive in
            // commit order). `ready` ends when the listener returns or fails, so
            // a failure is reported below rather than as a timeout.
            async let announcements: [(Int64, Int64)] = {
                defer { listens.finish() }
                return try await listening.listen(on: AlertsStore.channel) { notifications in
                    listens.yield()
                    var ranges: [(Int64, Int64)] = []
                    for try await notification in notifications {
                        if notification.payload == Self.endMarker { break }
                        ranges.append(try JSONDocument().parse(Array(notification.payload.utf8)) { root in
                            (Int64(root["from"]?.number ?? -1), Int64(root["to"]?.number ?? -1))
                        })
                    }
                    return ranges
                }
            }()
            for await _ in ready { break }
            try await Self.write(first, existing: nil, client: client)
            try await Self.write(second, existing: Set(first.map(\.id)), client: client)
            try await client.query("SELECT pg_notify(\(AlertsStore.channel), \(Self.endMarker))")
            let announced = try await announcements

            var appended: [(Int64, String, Int32)] = []
            for try await row in try await client.query("SELECT seq, alert_id, version FROM alerts.changes ORDER BY seq").decode((Int64, String, Int32).self) {
                appended.append(row)
            }
            #expect(appended.map { "\($0.1) v\($0.2)" } == everything.map { "\($0.id) v\($0.snapshot.version)" })
            let ranges = announced.sorted { $0.0 < $1.0 }
            #expect(ranges.count == statements(first) + statements(second), "one notification per statement appending changes")
            #expect(ranges.count == 6)
            let announcedSequences = ranges.flatMap { Array($0.0...$0.1) }
            #expect(announcedSequences == appended.map(\.0), "the ranges cover every appended change once")

            var stored: [String: (Int32, String, String)] = [:]
            for try await (id, version, status, snapshot) in try await client.query(
                "SELECT alert_id, version, status, snapshot FROM alerts.alerts"
            ).decode((String, Int32, String, String).self) {
                stored[id] = (version, status, snapshot)
            }
            #expect(stored.count == alerts)
            var latest: [String: AlertRecord] = [:]
            for change in everything { latest[change.id] = change }
            for (id, change) in latest {
                guard let row = stored[id] else {
                    Issue.record("alert \(id) has no row")
                    continue
                }
                #expect(row.0 == Int32(change.snapshot.version))
                #expect(row.1 == change.snapshot.status.rawValue)
                let snapshot = try JSONDocument().parse(Array(row.2.utf8)) { try AlertChanged.decode($0) }
                #expect(snapshot == change.snapshot)
            }
        }
        try await listening.close()
        await database.drop()
    }

    @Test("an append waits until every earlier appending transaction ended, so the relay's position never passes a change that commits later")
    func appendsInCommitOrder() async throws {
        let database = try await TestDatabase.create()
        let configuration = try database.settings.connectionConfiguration()
        let earlier = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: quietLogger())
        let later = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: quietLogger())
        @Sendable func append(_ changes: [AlertRecord], on connection: PostgresConnection) async throws {
            let context = ProjectionContext(connection: connection, logger: quietLogger(), now: Self.start)
            try await context.pipelined { send in try await AlertsStore.write(changes: changes, existing: nil, to: send) }
        }
        let changes = Self.changes(alerts: 4, versions: 1...1)
        try await PostgresClient.withClient(database.settings, logger: quietLogger()) { client in
            try await AlertsProjection().migrate(client: client, logger: quietLogger())
        }
        try await earlier.query("BEGIN", logger: quietLogger())
        try await append(Array(changes[0..<2]), on: earlier)
        // While the earlier transaction is open, a later one cannot append: had
        // it appended and committed, its changes would be visible with higher
        // sequence numbers than the earlier ones, and a relay reading then would
        // move its position past changes that commit afterwards.
        try await later.query("SET lock_timeout = '300ms'", logger: quietLogger())
        try await later.query("BEGIN", logger: quietLogger())
        let refused = await #expect(throws: PSQLError.self) { try await append(Array(changes[2..<4]), on: later) }
        #expect(refused?.serverInfo?[.sqlState] == "55P03", "lock_not_available")
        try await later.query("ROLLBACK", logger: quietLogger())
        try await earlier.query("COMMIT", logger: quietLogger())
        // Once it committed, the later transaction appends after it.
        try await later.query("BEGIN", logger: quietLogger())
        try await append(Array(changes[2..<4]), on: later)
        try await later.query("COMMIT", logger: quietLogger())
        var appended: [String] = []
        for try await id in try await earlier.query("SELECT alert_id FROM alerts.changes ORDER BY seq", logger: quietLogger()).decode(String.self) {
            appended.append(id)
        }
        #expect(appended == changes.map(\.id))
        try await earlier.close()
        try await later.close()
        await database.drop()
    }
}
