import AssetInventory
import Events
import Foundation
import Kafka
import PostgresNIO
import Simulator
import Testing
import WorkerTestSupport

@Suite("Asset-inventory worker against Kafka and PostgreSQL", .serialized, .timeLimit(.minutes(5)))
struct AssetInventoryWorkerTests {
    @Test("kill -9 at random moments while events stream: the devices table equals a reference fold")
    func crashSafety() async throws {
        let environment = try await WorkerEnvironment.make()
        var workload = PatientWorkload(patients: 200, devices: 500, seed: 11)
        var events = workload.setup()
        events += workload.stream(60_000)
        let producer = try environment.producer()
        var worker = try environment.worker("iomt-asset-inventory")
        var random = SeededRandom(state: 3)
        var ends: [KafkaTopicPartition: Int64] = [:]
        var kills = 0
        for (index, chunk) in stride(from: 0, to: events.count, by: 2000).enumerated() {
            ends.merge(try await environment.produce(Array(events[chunk..<min(chunk + 2000, events.count)]), with: producer)) { max($0, $1) }
            try await Task.sleep(for: .milliseconds(250))
            if index % 5 == 4 {
                try await Task.sleep(for: .milliseconds(Int64.random(in: 0...500, using: &random)))
                worker.kill()
                kills += 1
                worker = try environment.worker("iomt-asset-inventory")
            }
        }
        await producer.shutdown()
        let deviceEnds = ends.filter { $0.key.topic == EventTopic.deviceEvents.name }
        try await environment.waitForCheckpoints(deviceEnds, projection: "asset-inventory")
        #expect(kills >= 5)

        var reference: [String: DeviceRecord] = [:]
        for event in events {
            guard let id = event.payload.deviceId else { continue }
            var record = reference[id] ?? DeviceRecord(deviceId: id)
            record.apply(event)
            reference[id] = record
        }
        let stored = try await environment.database.withClient { client in
            var result: [String: DeviceRecord] = [:]
            let document = JSONDocument()
            for try await (id, state) in try await client.query("SELECT device_id, state::text FROM asset_inventory.devices").decode((String, String).self) {
                try document.parse(Array(state.utf8)) { root in result[id] = DeviceRecord(deviceId: id, json: root) }
            }
            return result
        }
        #expect(stored.count == reference.count)
        let differing = reference.filter { stored[$0.key] != $0.value }
        #expect(differing.isEmpty, "\(differing.count) devices differ, e.g. \(differing.first.map { "\($0.key): stored \(String(describing: stored[$0.key])) expected \($0.value)" } ?? "")")

        // The query columns agree with the documents, absent values as NULL.
        let columns = try await environment.database.withClient { client in
            var result: [String: String] = [:]
            for try await (id, row) in try await client.query("""
                SELECT device_id, concat_ws('|', coalesce(facility_id, '-'), coalesce(unit, '-'), coalesce(kind, '-'), coalesce(status, '-'),
                    coalesce(grade, '-'), coalesce(battery_percent::text, '-'), coalesce(assigned_patient_id, '-'), heartbeat_interval_seconds,
                    coalesce((extract(epoch FROM last_seen_at) * 1000000)::int8::text, '-'),
                    coalesce((extract(epoch FROM registered_at) * 1000000)::int8::text, '-'), events_applied)
                FROM asset_inventory.devices
                """).decode((String, String).self) {
                result[id] = row
            }
            return result
        }
        func expected(_ record: DeviceRecord) -> String {
            [
                record.facilityId ?? "-", record.placement?.value.unit ?? "-", record.registration?.value.kind ?? "-",
                record.condition?.value.status.rawValue ?? "-", record.registration?.value.grade.rawValue ?? "-",
                // PostgreSQL prints a whole float8 without its fraction.
                record.battery.map { $0.value == $0.value.rounded() ? "\(Int($0.value))" : "\($0.value)" } ?? "-", (record.assignment?.value ?? nil) ?? "-", "\(record.heartbeatIntervalSeconds)",
                record.lastSeenAt.map { "\($0.microseconds)" } ?? "-", record.registration.map { "\($0.at.microseconds)" } ?? "-", "\(record.eventsApplied)",
            ].joined(separator: "|")
        }
        let wrongColumns = reference.filter { columns[$0.key] != expected($0.value) }
        #expect(wrongColumns.isEmpty, "\(wrongColumns.count) devices' columns differ, e.g. \(wrongColumns.first.map { "\($0.key): \(columns[$0.key] ?? "none") expected \(expected($0.value))" } ?? "")")
        worker.stop()
        await environment.tearDown()
    }
}
