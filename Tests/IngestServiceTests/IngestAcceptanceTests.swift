import Events
import Foundation
import HTTPTypes
import Testing

@Suite("Ingest accepts valid events", .serialized, .timeLimit(.minutes(2)))
struct IngestAcceptanceTests {
    @Test("a device's batch is written to its topic and read back by confluent_kafka with key, ce_ headers and JSON value")
    func deviceBatchReachesKafka() async throws {
        let device = Sample.uniqueDevice()
        let ids = (0..<3).map { _ in Sample.id() }
        let brokers = try TestEnvironment.kafkaBrokers
        try await withIngest { client in
            let token = try await client.tokens.create(deviceId: device)
            let reply = try await client.post(Sample.batch(ids.map { Sample.vitals(device: device, id: $0, patient: "pat-000123") }), token: token)
            #expect(reply.status == .accepted, "\(reply.text)")
            #expect(reply.json["accepted"] as? Int == 3)
        }
        let records = try readWithConfluentKafka(brokers: brokers, topic: EventTopic.deviceEvents.name, ids: ids)
        #expect(records.count == 3)
        for record in records {
            #expect(record["key"] as? String == device)
            let headers = try #require(record["headers"] as? [String: String])
            #expect(headers["ce_specversion"] == "1.0")
            #expect(headers["ce_type"] == "iomt.vitals.observed.v1")
            #expect(headers["ce_source"] == "urn:iomt:device:\(device)", "source unchanged")
            #expect(headers["ce_time"] == "2026-11-25T10:00:00Z")
            #expect(headers["content-type"] == "application/json")
            let value = try #require((record["value"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any])
            #expect(value["deviceId"] as? String == device)
            #expect((value["observations"] as? [[String: Any]])?.count == 2)
        }
        #expect(Set(records.compactMap { ($0["headers"] as? [String: String])?["ce_id"] }) == Set(ids), "ids unchanged")
    }

    @Test("a clinical system's care event is accepted with a JWT and keyed by patient")
    func clinicalSystemCareEvent() async throws {
        let id = Sample.id()
        let brokers = try TestEnvironment.kafkaBrokers
        try await withIngest { client in
            let token = try await jwt(roles: [.clinicalSystem])
            let reply = try await client.post(Sample.admitted(patient: "pat-000777", id: id), contentType: "application/cloudevents+json", token: token)
            #expect(reply.status == .accepted, "\(reply.text)")
        }
        let records = try readWithConfluentKafka(brokers: brokers, topic: EventTopic.careEvents.name, ids: [id])
        #expect(records.first?["key"] as? String == "pat-000777")
    }

    @Test("NDJSON bodies are accepted line by line")
    func ndjson() async throws {
        let device = Sample.uniqueDevice()
        try await withIngest { client in
            let token = try await client.tokens.create(deviceId: device)
            let body = Sample.vitals(device: device) + "\n\n" + Sample.vitals(device: device) + "\n"
            let reply = try await client.post(body, contentType: "application/x-ndjson", token: token)
            #expect(reply.status == .accepted, "\(reply.text)")
            #expect(reply.json["accepted"] as? Int == 2)
        }
    }

    @Test("a batch with some invalid events answers 207 with per-event results; the valid ones are stored")
    func partialBatch() async throws {
        let device = Sample.uniqueDevice()
        let goodID = Sample.id()
        let badID = Sample.id()
        let brokers = try TestEnvironment.kafkaBrokers
        try await withIngest { client in
            let token = try await client.tokens.create(deviceId: device)
            let reply = try await client.post(Sample.batch([Sample.vitals(device: device, id: goodID), Sample.vitals(device: device, id: badID, unit: "bpm")]), token: token)
            #expect(reply.status.code == 207, "\(reply.text)")
            let results = try #require(reply.json["results"] as? [[String: Any]])
            #expect(results.count == 2)
            #expect(results[0]["status"] as? String == "accepted")
            #expect(results[0]["offset"] as? Int != nil)
            #expect(results[1]["status"] as? String == "rejected")
            #expect(results[1]["id"] as? String == badID)
            #expect(results[1]["reason"] as? String == #"events[1].data.observations[0].unit: "bpm" is not a unit for 8867-4 (expected "/min")"#)
        }
        let records = try readWithConfluentKafka(brokers: brokers, topic: EventTopic.deviceEvents.name, ids: [goodID])
        #expect(records.count == 1)
    }

    @Test("health, readiness and metrics answer")
    func operationalEndpoints() async throws {
        try await withIngest { client in
            let device = Sample.uniqueDevice()
            let token = try await client.tokens.create(deviceId: device)
            _ = try await client.post(Sample.batch([Sample.vitals(device: device), Sample.vitals(device: device, unit: "bpm")]), token: token)
            #expect(try await client.get("/health").0 == .ok)
            var ready = try await client.get("/ready")
            for _ in 0..<50 where ready.0 != .ok {
                try await Task.sleep(for: .milliseconds(100))
                ready = try await client.get("/ready")
            }
            #expect(ready.0 == .ok, "\(ready.1)")
            let metrics = try await client.get("/metrics").1
            #expect(metrics.contains(#"iomt_ingest_events_accepted_total{topic="iomt.device-events.v1"} 1"#))
            #expect(metrics.contains(#"iomt_ingest_events_rejected_total{reason="invalid_unit"} 1"#))
            #expect(metrics.contains("iomt_ingest_request_duration_seconds_bucket"))
        }
    }
}
