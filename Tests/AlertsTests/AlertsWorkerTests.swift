@testable import Alerts
import Events
import Foundation
import Kafka
import Logging
import ServiceSupport
import PostgresNIO
import Simulator
import Testing
import WorkerTestSupport

/// Rules whose outcome depends only on the events (no wall-clock effects), so two
/// runs over one log must agree exactly.
let eventDrivenRules = #"{"news2Medium": {"persistenceSeconds": 0, "hysteresisSeconds": 0}, "news2High": {"hysteresisSeconds": 0}, "news2SingleRed": {"persistenceSeconds": 0, "hysteresisSeconds": 0}, "batteryLow": {"persistenceSeconds": 0}, "deviceOffline": {"enabled": false}, "escalation": {"highSeconds": 315360000, "mediumSeconds": 315360000}}"#

func rulesFile(_ text: String) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("alert-rules-\(UUID()).json")
    try Data(text.utf8).write(to: url)
    return url.path
}

struct StoredAlert: Equatable, CustomStringConvertible {
    var subject: String
    var status: String
    var priority: String
    var version: Int
    var occurrences: Int
    var escalation: Int
    var description: String { "\(status)/\(priority) v\(version) x\(occurrences) e\(escalation)" }
}

func storedAlerts(_ database: TestDatabase) async throws -> [String: StoredAlert] {
    try await database.withClient { client in
        var result: [String: StoredAlert] = [:]
        let document = JSONDocument()
        for try await (id, subject, snapshot) in try await client.query("SELECT alert_id, subject_key, snapshot::text FROM alerts.alerts").decode((String, String, String).self) {
            let change = try document.parse(Array(snapshot.utf8)) { try AlertChanged.decode($0) }
            result[id] = StoredAlert(subject: subject, status: change.status.rawValue, priority: change.priority.rawValue, version: change.version, occurrences: change.occurrences, escalation: change.escalationLevel)
        }
        return result
    }
}

/// Each subject's patient and device records (its tracked rules aside).
func storedSubjects(_ database: TestDatabase) async throws -> [String: String] {
    try await database.withClient { client in
        var result: [String: String] = [:]
        let document = JSONDocument()
        for try await (key, state) in try await client.query("SELECT subject_key, state::text FROM alerts.subjects").decode((String, String).self) {
            let subject = try document.parse(Array(state.utf8)) { AlertSubject(key: key, json: $0) }
            result[key] = String(decoding: (subject.patient?.json ?? []) + (subject.device?.json ?? []), as: UTF8.self)
        }
        return result
    }
}

@Suite("Alerts worker against Kafka and PostgreSQL", .serialized, .timeLimit(.minutes(6)))
struct AlertsWorkerTests {
    @Test("a care event acknowledges an alert; an acknowledgement of an unknown alert goes to the dead-letter topic")
    func acknowledgement() async throws {
        let environment = try await WorkerEnvironment.make()
        let worker = try environment.worker("iomt-alerts")
        let producer = try environment.producer()
        let now = EventTime(Date())
        func event(_ id: String, _ offset: Int64, _ payload: EventPayload) -> Event {
            Event(id: id, source: "urn:test", time: now.adding(.seconds(offset)), payload: payload)
        }
        // NEWS2 7 (complete): news2.high opens at once.
        try await environment.produce([
            event("v1", 0, .vitalsObserved(VitalsObserved(deviceId: "d-ack", patientId: "pat-ack", observations: [
                Observation(code: "9279-1", value: 25, unit: "/min"), Observation(code: "59408-5", value: 95, unit: "%"),
                Observation(code: "8480-6", value: 105, unit: "mm[Hg]"), Observation(code: "8867-4", value: 115, unit: "/min"),
                Observation(code: "8310-5", value: 37, unit: "Cel"),
            ]))),
            event("a1", 0, .patientAssessed(PatientAssessed(patientId: "pat-ack", consciousness: .alert, supplementalOxygen: false))),
        ], with: producer)
        let alertID = try #require(try await eventually {
            try await environment.database.withClient { client in
                var id: String?
                for try await value in try await client.query("SELECT alert_id FROM alerts.alerts WHERE rule = 'news2.high' AND patient_id = 'pat-ack'").decode(String.self) { id = value }
                return id
            }
        })
        let unknownAcknowledgement = event("k2", 31, .alertAcknowledged(AlertAcknowledged(alertId: "alrt-does-not-exist", by: "nurse-12")))
        try await environment.produce([event("k1", 30, .alertAcknowledged(AlertAcknowledged(alertId: alertID, by: "nurse-12")))], with: producer)
        // Spaced JSON, as a client may send it: decoding accepts it, and only a kept
        // original (not the event encoded again) carries these exact bytes.
        let originalValue = Array(#"{ "alertId": "alrt-does-not-exist", "by": "nurse-12" }"#.utf8)
        _ = try await producer.send(KafkaProducerRecord(
            topic: unknownAcknowledgement.type.topic.name, key: EventRecord.key(for: unknownAcknowledgement), value: originalValue,
            headers: EventRecord.headers(for: unknownAcknowledgement, as: KafkaHeader.self)
        ))
        let acknowledged = try await eventually {
            let alerts = try await storedAlerts(environment.database)
            return alerts[alertID]?.status == "acknowledged" ? alerts[alertID] : nil
        }
        #expect(acknowledged?.status == "acknowledged")
        let by = try await environment.database.withClient { client in
            var by: String?
            for try await snapshot in try await client.query("SELECT snapshot::text FROM alerts.alerts WHERE alert_id = \(alertID)").decode(String.self) {
                by = try JSONDocument().parse(Array(snapshot.utf8)) { $0["acknowledgedBy"]?.string }
            }
            return by
        }
        #expect(by == "nurse-12")

        let reader = try KafkaConsumer(configuration: KafkaConsumerConfiguration(bootstrapServers: environment.broker.bootstrapServers, groupID: "dlq-\(UUID())", topics: [EventTopic.deadLetter.name]), logger: quietLogger())
        var letter: KafkaMessage?
        for await item in reader.events {
            switch item {
            case .assigned(let assignment): assignment.start(at: [:])
            case .revoked(let revocation): revocation.acknowledge()
            case .messages(let batch):
                letter = batch.first { $0.headers.string(for: "ce_id") == "k2" }
            }
            if letter != nil { break }
        }
        await reader.close()
        #expect(letter?.headers.string(for: "dlq_reason") == "alert alrt-does-not-exist is unknown")
        // The original record, byte for byte: the worker kept it for the dead letter.
        #expect(letter?.value == originalValue)
        #expect(originalValue != EventRecord.value(for: unknownAcknowledgement))
        #expect(letter?.headers.string(for: "ce_source") == "urn:test")
        await producer.shutdown()
        worker.stop()
        await environment.tearDown()
    }

    @Test("kill -9 during a stream: alerts equal an uninterrupted run, and every change reaches iomt.alerts.v1 in version order as valid CloudEvents")
    func crashSafetyAndRelay() async throws {
        let environment = try await WorkerEnvironment.make()
        let rules = try rulesFile(eventDrivenRules)
        var workload = PatientWorkload(patients: 150, devices: 300, seed: 21, start: EventTime(Date()))
        var events = workload.setup()
        events += workload.stream(30_000)
        let producer = try environment.producer()
        var worker = try environment.worker("iomt-alerts", extra: ["ALERT_RULES_FILE": rules])
        var random = SeededRandom(state: 5)
        var ends: [KafkaTopicPartition: Int64] = [:]
        var kills = 0
        for (index, chunk) in stride(from: 0, to: events.count, by: 1000).enumerated() {
            ends.merge(try await environment.produce(Array(events[chunk..<min(chunk + 1000, events.count)]), with: producer)) { max($0, $1) }
            try await Task.sleep(for: .milliseconds(200))
            if index % 5 == 4 {
                try await Task.sleep(for: .milliseconds(Int64.random(in: 0...400, using: &random)))
                worker.kill()
                kills += 1
                worker = try environment.worker("iomt-alerts", extra: ["ALERT_RULES_FILE": rules])
            }
        }
        await producer.shutdown()
        try await environment.waitForCheckpoints(ends, projection: "alerts")
        #expect(kills >= 5)
        let crashed = try await storedAlerts(environment.database)
        let crashedSubjects = try await storedSubjects(environment.database)

        // Relay: every change reaches the topic at least once, in version order per
        // alert, as valid CloudEvents for a consumer we did not write.
        _ = try await eventually(timeout: .seconds(60)) {
            try await environment.database.withClient { client in
                var pending = 1
                for try await count in try await client.query("SELECT count(*)::int FROM alerts.changes WHERE seq > (SELECT relayed_to FROM alerts.relay_position)").decode(Int.self) { pending = count }
                return pending == 0 ? true : nil
            }
        }
        let report = try checkAlertsTopic(bootstrap: environment.broker.bootstrapServers)
        #expect((report["invalid"] as? [String])?.isEmpty == true, "\(report["invalid"] ?? "")")
        let versions = try #require(report["versions"] as? [String: [Int]])
        #expect(Set(versions.keys) == Set(crashed.keys))
        for (id, alert) in crashed {
            var seen = Set<Int>()
            let firsts = (versions[id] ?? []).filter { seen.insert($0).inserted }
            #expect(firsts == Array(1...alert.version), "alert \(id): versions \(versions[id] ?? []) for final version \(alert.version)")
        }
        worker.stop()

        // The same log, applied by one worker that is never interrupted, without a
        // relay of its own.
        let reference = try await TestDatabase.create()
        let referenceWorker = try WorkerProcess(executable: "iomt-alerts", environment: environment.variables(extra: [
            "DATABASE_URL": reference.url, "WORKER_GROUP_ID": "iomt.alerts.reference", "ALERT_RULES_FILE": rules, "ALERTS_RELAY": "off",
        ]))
        let referenceEnvironment = WorkerEnvironment(broker: environment.broker, database: reference)
        try await referenceEnvironment.waitForCheckpoints(ends, projection: "alerts")
        let expected = try await storedAlerts(reference)
        let expectedSubjects = try await storedSubjects(reference)
        referenceWorker.stop()

        // Every subject's state (an order-independent fold) is exact: nothing lost or
        // applied twice.
        #expect(crashedSubjects.count == expectedSubjects.count)
        let differingSubjects = expectedSubjects.filter { crashedSubjects[$0.key] != $0.value }
        #expect(differingSubjects.isEmpty, "\(differingSubjects.count) subjects differ, e.g. \(differingSubjects.keys.first ?? "")")
        // Device alerts depend on one partition's events in order: exact too. A
        // patient's events come from several partitions (its devices, the care
        // topic) whose interleaving differs from run to run, so its alert history is
        // path-dependent and only checked to exist.
        let deviceAlerts = { (alerts: [String: StoredAlert]) in alerts.filter { $0.value.subject.hasPrefix("device:") } }
        #expect(!deviceAlerts(expected).isEmpty, "the workload raises device alerts")
        #expect(deviceAlerts(crashed) == deviceAlerts(expected))
        #expect(crashed.values.contains { $0.subject.hasPrefix("patient:") }, "the workload raises patient alerts")
        await reference.drop()
        await environment.tearDown()
    }
}

extension AlertsWorkerTests {
    @Test("the relay sends changes stored before they had a time column (ce_time read from the snapshot) and before the relay had a queue, if not relayed then")
    func relayOfChangesWithoutTime() async throws {
        let environment = try await WorkerEnvironment.make()
        let logger = Logger(label: "test.relay")
        let settings = try DatabaseSettings(url: environment.database.url)
        let at = EventTime(microseconds: 1_795_000_000_123_456)
        let change = AlertChanged(
            alertId: "alert-before-migration-3", version: 1, rule: "news2.high", priority: .high, status: .open, message: "NEWS2 7",
            occurrences: 1, escalationLevel: 0, openedAt: at, updatedAt: at, patientId: "pat-1", facilityId: "fac-1"
        )
        try await environment.database.withClient { client in
            // The schema before migration 3 (no time column), 4 (the queue) and
            // 6 (the position): one change relayed then, one not (the relay
            // went in sequence order, so the relayed one comes first).
            try await Migrator.apply(MigrationSet(component: "alerts", migrations: Array(AlertsStore.migrations.prefix(2))), on: client, logger: logger)
            try await client.query("""
                INSERT INTO alerts.changes (alert_id, version, snapshot, relayed)
                VALUES ('alert-relayed-before', 1, '{}', true), (\(change.alertId), 1, \(String(decoding: change.json, as: UTF8.self)), false)
                """)
            try await AlertsProjection().migrate(client: client, logger: logger)
        }
        let producer = try environment.producer()
        let connection = try await PostgresConnection.connect(configuration: settings.connectionConfiguration(), id: 1, logger: logger)
        let relay = OutboxRelay(database: settings, kafka: KafkaSettings(brokers: environment.broker.bootstrapServers), logger: logger)
        try await relay.requirePosition(connection)
        #expect(try await relay.relayOnce(connection, producer: producer) == 1)
        #expect(try await relay.relayOnce(connection, producer: producer) == 0)
        // Without its position row the relay stops with a clear error instead of
        // idling.
        try await connection.query("DELETE FROM alerts.relay_position", logger: logger)
        await #expect(throws: RelayPositionMissing.self) { try await relay.requirePosition(connection) }
        try await connection.close()
        await producer.shutdown()

        let report = try checkAlertsTopic(bootstrap: environment.broker.bootstrapServers)
        #expect(report["records"] as? Int == 1)
        #expect((report["invalid"] as? [String])?.isEmpty == true, "\(report["invalid"] ?? "")")
        await environment.tearDown()
    }
}

/// Runs the python analytics consumer over iomt.alerts.v1.
func checkAlertsTopic(bootstrap: String) throws -> [String: Any] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.environment["IOMT_PYTHON"] ?? "/usr/bin/python3")
    process.arguments = [
        repositoryRoot.appendingPathComponent("Tests/Support/check_alerts_topic.py").path, bootstrap,
        repositoryRoot.appendingPathComponent("schemas/events/iomt.alert.changed.v1.schema.json").path, "4",
    ]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
}
