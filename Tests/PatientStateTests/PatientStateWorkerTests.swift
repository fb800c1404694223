import Events
import Simulator
import Foundation
import Kafka
import PatientState
import PostgresNIO
import ServiceSupport
import Testing
import WorkerTestSupport

@Suite("Patient-state worker against Kafka and PostgreSQL", .serialized, .timeLimit(.minutes(5)))
struct PatientStateWorkerTests {
    @Test("events written by kcat end up in the tables")
    func kcatEvents() async throws {
        let environment = try await WorkerEnvironment.make()
        let worker = try environment.worker()
        let lines = [
            #"pat-k1|{"patientId":"pat-k1","facilityId":"fac-1","unit":"ward-2","bed":"7"}"#,
        ]
        try kcat(environment, topic: EventTopic.careEvents.name, lines: lines, headers: [
            "ce_specversion=1.0", "ce_id=k-1", "ce_source=urn:kcat", "ce_type=iomt.patient.admitted.v1", "ce_time=2026-11-25T10:00:00Z", "content-type=application/json",
        ])
        try kcat(environment, topic: EventTopic.deviceEvents.name, lines: [
            #"dev-k1|{"deviceId":"dev-k1","patientId":"pat-k1","observations":[{"code":"8867-4","value":88,"unit":"/min"}]}"#,
        ], headers: [
            "ce_specversion=1.0", "ce_id=k-2", "ce_source=urn:kcat", "ce_type=iomt.vitals.observed.v1", "ce_time=2026-11-25T10:01:00Z", "content-type=application/json",
        ])
        let found = try await eventually {
            let patients = try await storedPatients(environment.database)
            return patients["pat-k1"]?.eventsApplied == 2 ? patients["pat-k1"] : nil
        }
        #expect(found?.status == "admitted")
        #expect(found?.unit == "ward-2")
        #expect(found?.vitals["8867-4"] == 88)
        worker.stop()
        await environment.tearDown()
    }

    @Test("kill -9 at random moments while 100,000 events stream: the tables equal a reference fold, nothing lost or applied twice")
    func crashSafety() async throws {
        let environment = try await WorkerEnvironment.make()
        var workload = PatientWorkload(patients: 300, devices: 600, seed: 42)
        var events = workload.setup()
        events += workload.stream(100_000 - events.count)
        let producer = try environment.producer()
        var worker = try environment.worker()
        var random = SeededRandom(state: 7)
        var ends: [KafkaTopicPartition: Int64] = [:]
        var kills = 0
        var nextKill = ContinuousClock.now + .milliseconds(Int64.random(in: 1500...3000, using: &random))
        for chunk in stride(from: 0, to: events.count, by: 2000) {
            let produced = try await environment.produce(Array(events[chunk..<min(chunk + 2000, events.count)]), with: producer)
            ends.merge(produced) { max($0, $1) }
            try await Task.sleep(for: .milliseconds(300))
            if ContinuousClock.now >= nextKill {
                worker.kill()
                kills += 1
                worker = try environment.worker()
                nextKill = ContinuousClock.now + .milliseconds(Int64.random(in: 1500...3000, using: &random))
            }
        }
        while kills < 5 {
            // The stream was faster than planned: keep killing while the worker catches up.
            try await Task.sleep(for: .milliseconds(Int64.random(in: 500...1500, using: &random)))
            worker.kill()
            kills += 1
            worker = try environment.worker()
        }
        await producer.shutdown()
        try await environment.waitForCheckpoints(ends)
        expectMatchesReference(try await storedPatients(environment.database), expectedPatients(events))
        #expect(kills >= 5)
        worker.stop()
        await environment.tearDown()
    }

    @Test("two workers in one group, one stopped mid-stream: still exact")
    func scaleOut() async throws {
        let environment = try await WorkerEnvironment.make()
        var workload = PatientWorkload(patients: 200, devices: 400, seed: 9)
        var events = workload.setup()
        events += workload.stream(40_000)
        let producer = try environment.producer()
        let first = try environment.worker()
        let second = try environment.worker()
        var ends: [KafkaTopicPartition: Int64] = [:]
        for (index, chunk) in stride(from: 0, to: events.count, by: 2000).enumerated() {
            ends.merge(try await environment.produce(Array(events[chunk..<min(chunk + 2000, events.count)]), with: producer)) { max($0, $1) }
            try await Task.sleep(for: .milliseconds(250))
            if index == 8 { second.stop() }
        }
        await producer.shutdown()
        try await environment.waitForCheckpoints(ends)
        expectMatchesReference(try await storedPatients(environment.database), expectedPatients(events))
        first.stop()
        await environment.tearDown()
    }

    @Test("poison records go to the dead-letter topic with reasons while the worker goes on")
    func poisonRecords() async throws {
        let environment = try await WorkerEnvironment.make()
        let worker = try environment.worker()
        let valid = ["ce_specversion=1.0", "ce_source=urn:kcat", "ce_time=2026-11-25T10:00:00Z", "content-type=application/json"]
        try kcat(environment, topic: EventTopic.deviceEvents.name, lines: [#"dev-p1|{"deviceId": "dev-p1", "observations": [}"#],
                 headers: valid + ["ce_id=p-1", "ce_type=iomt.vitals.observed.v1"])
        try kcat(environment, topic: EventTopic.deviceEvents.name, lines: [#"dev-p1|{"deviceId":"dev-p1"}"#],
                 headers: valid + ["ce_id=p-2", "ce_type=iomt.device.teleported.v1"])
        try kcat(environment, topic: EventTopic.deviceEvents.name, lines: [#"dev-p1|{"deviceId":"dev-p1","patientId":"pat-p1","observations":[{"code":"8867-4","value":72,"unit":"bpm"}]}"#],
                 headers: valid + ["ce_id=p-3", "ce_type=iomt.vitals.observed.v1"])
        try kcat(environment, topic: EventTopic.deviceEvents.name, lines: [#"dev-p1|{"deviceId":"dev-p1","patientId":"pat-p1","observations":[{"code":"8867-4","value":72,"unit":"/min"}]}"#],
                 headers: valid + ["ce_id=p-4", "ce_type=iomt.vitals.observed.v1"])
        let applied = try await eventually { try await storedPatients(environment.database)["pat-p1"] }
        #expect(applied?.vitals["8867-4"] == 72, "the valid record after the poison ones is applied")

        var configuration = KafkaConsumerConfiguration(bootstrapServers: environment.broker.bootstrapServers, groupID: "dlq-reader-\(UUID())", topics: [EventTopic.deadLetter.name])
        configuration.maxBatchWait = .milliseconds(20)
        let reader = try KafkaConsumer(configuration: configuration, logger: quietLogger())
        var letters: [KafkaMessage] = []
        for await event in reader.events {
            switch event {
            case .assigned(let assignment): assignment.start(at: [:])
            case .revoked(let revocation): revocation.acknowledge()
            case .messages(let batch): letters += batch
            }
            if letters.count >= 3 { break }
        }
        await reader.close()
        let reasons = Dictionary(uniqueKeysWithValues: letters.map { ($0.headers.string(for: "ce_id") ?? "", $0.headers.string(for: "dlq_reason") ?? "") })
        #expect(reasons["p-1"]?.contains("malformed JSON") == true, "\(reasons)")
        #expect(reasons["p-2"]?.contains("is not an event type") == true, "\(reasons)")
        #expect(reasons["p-3"]?.contains(#""bpm" is not a unit for 8867-4"#) == true, "\(reasons)")
        for letter in letters {
            #expect(letter.headers.string(for: "dlq_topic") == EventTopic.deviceEvents.name)
            #expect(letter.headers.string(for: "dlq_consumer") == "patient-state")
            #expect(letter.headers.string(for: "dlq_offset") != nil)
            #expect(letter.headers.string(for: "dlq_partition") != nil)
            #expect(letter.headers.string(for: "dlq_time") != nil)
            #expect(letter.key == Array("dev-p1".utf8))
        }
        worker.stop()
        await environment.tearDown()
    }
}

