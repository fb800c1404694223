import Foundation
import Testing
import WorkerTestSupport

@Suite("Query endpoints over projections filled by the real workers", .serialized, .timeLimit(.minutes(3)))
struct QueryEndpointTests {
    @Test("GET /v1/patients/{id} returns admission, vitals, NEWS2 with sub-scores and devices")
    func patientDetail() async throws {
        let reply = try await get("/v1/patients/pat-n1", token: try await token([.clinician]))
        #expect(reply.status == 200, "\(reply.text)")
        let patient = reply.json
        #expect(patient["facilityId"] as? String == "fac-north")
        #expect(patient["status"] as? String == "admitted")
        #expect(patient["devices"] as? [String] == ["dev-n1"])
        let vitals = try #require(patient["vitals"] as? [String: [String: Any]])
        #expect(vitals["8867-4"]?["value"] as? Double == 115)
        #expect(vitals["8867-4"]?["unit"] as? String == "/min")
        let news2 = try #require(patient["news2"] as? [String: Any])
        #expect(news2["total"] as? Int == 7)
        #expect(news2["risk"] as? String == "high")
        #expect(news2["complete"] as? Bool == true)
        #expect((news2["subscores"] as? [String: Int])?["respirationRate"] == 3)
    }

    @Test("GET /v1/patients lists the caller's facilities with filters and cursor pagination")
    func patientList() async throws {
        let token = try await token([.clinician])
        let all = try await get("/v1/patients", token: token)
        #expect(all.items.compactMap { $0["patientId"] as? String } == ["pat-n1", "pat-n2"], "fac-south is out of scope")
        let high = try await get("/v1/patients?risk=high", token: token)
        #expect(high.items.compactMap { $0["patientId"] as? String } == ["pat-n1"])
        let first = try await get("/v1/patients?limit=1", token: token)
        #expect(first.items.count == 1)
        let cursor = try #require(first.json["nextCursor"] as? String)
        let second = try await get("/v1/patients?limit=1&cursor=\(cursor)", token: token)
        #expect(second.items.compactMap { $0["patientId"] as? String } == ["pat-n2"])
        #expect(second.json["nextCursor"] is NSNull)
        #expect(try await get("/v1/patients?risk=extreme", token: token).status == 400)
        #expect(try await get("/v1/patients?cursor=%%%", token: token).status == 400)
        // A NUL byte would reach PostgreSQL (which refuses it) as a 5xx: it is a 400 naming the parameter.
        let nul = try await get("/v1/devices?kind=pump%00x", token: token)
        #expect(nul.status == 400 && nul.text.contains("kind"), "\(nul.status) \(nul.text)")
    }

    @Test("GET /v1/devices filters by battery, kind, facility and online; GET /v1/devices/{id} shows one")
    func devices() async throws {
        let token = try await token([.ops])
        let low = try await get("/v1/devices?batteryBelow=20", token: token)
        #expect(low.items.compactMap { $0["deviceId"] as? String } == ["dev-n2"])
        let all = try await get("/v1/devices?kind=multiparameter-monitor", token: token)
        #expect(all.items.count == 3, "ops see every facility")
        let online = try await get("/v1/devices?online=true", token: token)
        #expect(online.items.count == 3)
        let device = try await get("/v1/devices/dev-s1", token: token)
        #expect(device.status == 200)
        #expect(device.json["batteryPercent"] as? Double == 90)
        #expect(device.json["assignedPatientId"] as? String == "pat-s1")
        #expect((device.json["location"] as? [String: Any]) != nil)
        #expect(try await get("/v1/devices/dev-unknown", token: token).status == 404)
    }

    @Test("GET /v1/alerts filters by rule and priority; GET /v1/patients/{id}/alerts keeps patient ids out of query strings")
    func alerts() async throws {
        let clinician = try await token([.clinician], facilities: ["fac-north", "fac-south"])
        let high = try await get("/v1/alerts?rule=news2.high", token: clinician)
        let alert = try #require(high.items.first)
        #expect(alert["patientId"] as? String == "pat-n1")
        #expect(alert["priority"] as? String == "high")
        #expect(alert["status"] as? String == "open")
        let id = try #require(alert["alertId"] as? String)
        #expect(try await get("/v1/alerts/\(id)", token: clinician).json["rule"] as? String == "news2.high")
        let forPatient = try await get("/v1/patients/pat-n1/alerts", token: clinician)
        #expect(forPatient.items.contains { $0["alertId"] as? String == id })
        let battery = try await get("/v1/alerts?rule=device.battery-low", token: clinician)
        #expect(battery.items.first?["deviceId"] as? String == "dev-n2")
        #expect(battery.items.first?["priority"] as? String == "medium", "below 10 %")
        // Ops see device alerts only, without patients.
        let ops = try await get("/v1/alerts", token: try await token([.ops]))
        #expect(!ops.items.isEmpty)
        #expect(ops.items.allSatisfy { ($0["rule"] as? String)?.hasPrefix("device.") == true && $0["patientId"] is NSNull })
    }

    @Test("GET /v1/projections shows checkpoints, lag and freshness; GET /v1/stats counts")
    func projectionsAndStats() async throws {
        // The live-stream suite shares this stack and sends alarms while this runs;
        // a reply reads the checkpoints and then Kafka's log ends, so it shows lag
        // until the workers have applied them (once: 3 alarms). Lag must reach 0.
        let ops = try await token([.ops])
        var projections: [[String: Any]] = []
        _ = try await eventually { () -> Bool? in
            projections = try await get("/v1/projections", token: ops).json["projections"] as? [[String: Any]] ?? []
            return !projections.isEmpty && projections.allSatisfy { $0["lag"] as? Int == 0 } ? true : nil
        }
        #expect(Set(projections.compactMap { $0["name"] as? String }) == ["alerts", "asset-inventory", "patient-state"])
        for projection in projections {
            #expect(projection["lag"] as? Int == 0, "\(projection)")
            #expect(projection["newestEventTime"] is String)
        }
        let stats = try await get("/v1/stats", token: try await token([.analyst]))
        #expect(((stats.json["patients"] as? [String: Any])?["byRisk"] as? [String: Int])?["high"] == 1)
        #expect((stats.json["devices"] as? [String: Any])?["total"] as? Int == 3)
    }

    @Test("health, readiness, metrics and the OpenAPI document answer without a token")
    func operational() async throws {
        #expect(try await get("/health", token: nil).status == 200)
        #expect(try await get("/ready", token: nil).status == 200)
        #expect(try await get("/metrics", token: nil).text.contains("iomt_query_requests_total"))
        let spec = try await get("/openapi.yaml", token: nil)
        #expect(spec.status == 200)
        #expect(spec.text.hasPrefix("openapi: 3.1"))
    }
}
