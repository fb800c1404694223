import AsyncHTTPClient
import Clinical
import Events
import Foundation
import Kafka
import ServiceSupport
import Simulator
import Testing
import WorkerTestSupport

/// The README's dev stack (`iomt dev`: dev broker, ingest, three workers, query,
/// as separate processes) on a fresh database, fed for 30 seconds by
/// `iomt simulate` through the ingest API; then everything the simulator sent is
/// checked through the query API.
@Suite("End to end: iomt dev + iomt simulate", .serialized)
struct EndToEndTests {
    @Test("30 s of a simulated fleet: patients and NEWS2 match the latest vitals, every deterioration alerts, acknowledgements hold, no dead letters")
    func simulatedFleet() async throws {
        let database = try await TestDatabase.create()
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("iomt-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        // NEWS2 medium and single-red open after 2 s instead of the default 60 and
        // 30, so episodes of a 30 s run can open their alerts.
        let rules = state.appendingPathComponent("rules.json")
        try Data(#"{"news2Medium": {"persistenceSeconds": 2}, "news2SingleRed": {"persistenceSeconds": 2}}"#.utf8).write(to: rules)
        let ingestPort = try LoopbackPort.free()
        let queryPort = try LoopbackPort.free()
        let dev = try WorkerProcess(executable: "iomt", arguments: [
            "dev", "--no-simulator", "--ingest-port", String(ingestPort), "--query-port", String(queryPort),
            "--state-dir", state.path, "--alert-rules", rules.path, "--project", repositoryRoot.path,
        ], environment: [
            "DATABASE_URL": database.url, "LOG_LEVEL": "warning",
            // Roles are per cluster: a role of its own keeps other suites' query
            // services (which set their role's password) from locking this one out.
            "QUERY_DATABASE_ROLE": "e2e_" + database.name.suffix(12),
        ], log: state.appendingPathComponent("dev.log"))
        defer { dev.interrupt() }

        let stack = try await StackEnvironment.read(state.appendingPathComponent("stack.env"), while: dev)
        let ingestURL = try #require(stack["IOMT_INGEST_URL"]), queryURL = try #require(stack["IOMT_QUERY_URL"])
        let token = try #require(stack["IOMT_TOKEN"])

        let reportFile = state.appendingPathComponent("report.json")
        let simulate = try WorkerProcess(executable: "iomt", arguments: [
            "simulate", "--duration", "30", "--rate", "150", "--patients", "20", "--seed", "7", "--tick-ms", "100",
            "--episode-every", "3", "--episode-ramp", "3", "--episode-hold", "10", "--mean-stay", "24",
            "--alarm-every", "4", "--silent-every", "0", "--ack-after", "2", "--ack-share", "1",
            "--ingest-url", ingestURL, "--query-url", queryURL, "--report-file", reportFile.path,
        ], environment: ["DATABASE_URL": database.url, "JWT_HS256_SECRET": try #require(stack["JWT_HS256_SECRET"])],
           log: state.appendingPathComponent("simulate.log"))
        let status = await simulate.wait()
        #expect(status == 0, "iomt simulate failed: \(simulate.output())")
        let report = try JSONDecoder().decode(SimulationReport.self, from: Data(contentsOf: reportFile))
        #expect(report.events > 4000, "\(report.events) events")
        #expect(report.patients.contains { $0.status == "discharged" }, "the run discharges and readmits patients")
        #expect(report.episodes.count(where: { $0.reachedAt != nil }) >= 4, "\(report.episodes)")
        #expect(!report.acknowledgements.isEmpty, "the simulated clinicians acknowledged alerts")

        let api = QueryClient(url: queryURL, token: token)
        try await api.waitUntilCaughtUp()

        // Patients: status, latest vitals and NEWS2 as the simulator sent them.
        for patient in report.patients {
            let body = try await api.get("/v1/patients/\(patient.patientId)")
            #expect(body["status"] as? String == patient.status, "\(patient.patientId)")
            guard patient.status == "admitted" else { continue }
            let vitals = body["vitals"] as? [String: [String: Any]] ?? [:]
            for (code, sent) in patient.latest {
                let normal = Observation(code: code, value: sent.value, unit: sent.unit).normalized
                let shown = vitals[code]?["value"] as? Double
                #expect(shown.map { abs($0 - normal.value) < 1e-9 } == true, "\(patient.patientId) \(code): sent \(normal.value), shown \(String(describing: shown))")
            }
            let news2 = body["news2"] as? [String: Any] ?? [:]
            let expected = patient.expectedNEWS2
            #expect(news2["total"] as? Int == expected.total, "\(patient.patientId): NEWS2 \(String(describing: news2["total"])), expected \(expected.total)")
            #expect(news2["risk"] as? String == expected.risk.rawValue, "\(patient.patientId)")
            #expect(news2["complete"] as? Bool == expected.complete, "\(patient.patientId)")
        }

        // Every deterioration that reached its target opened its alert. The alerts
        // worker opens persistence-delayed alerts on its clock: allow it a moment.
        for episode in report.episodes where episode.reachedAt != nil {
            let started = try #require(EventTime(rfc3339: episode.startedAt))
            let found = try await eventually(timeout: .seconds(20)) { () -> Bool? in
                let items = try await api.items("/v1/alerts?patientId=\(episode.patientId)&rule=\(episode.level.alertRule)")
                return items.contains { ($0["openedAt"] as? String).flatMap(EventTime.init(rfc3339:)).map { $0 >= started } == true } ? true : nil
            }
            #expect(found == true, "no \(episode.level.alertRule) alert for the episode of \(episode.patientId) from \(episode.startedAt)")
        }

        // Acknowledged alerts are acknowledged, by whom the simulator said.
        var alerts: [String: [String: Any]] = [:]
        for status in ["acknowledged", "resolved", "open"] {
            for item in try await api.items("/v1/alerts?status=\(status)&limit=500", allPages: true) {
                if let id = item["alertId"] as? String { alerts[id] = item }
            }
        }
        for acknowledgement in report.acknowledgements {
            let alert = alerts[acknowledgement.alertId]
            #expect(alert?["acknowledgedBy"] as? String == acknowledgement.by, "alert \(acknowledgement.alertId): \(String(describing: alert))")
            #expect(alert?["acknowledgedAt"] is String, "alert \(acknowledgement.alertId)")
            #expect(alert?["status"] as? String != "open", "alert \(acknowledgement.alertId)")
        }

        // Nothing went to the dead-letter topic.
        let brokers = try #require(stack["KAFKA_BROKERS"])
        let reader = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: brokers, groupID: "e2e-dlq-\(UUID())", topics: [EventTopic.deadLetter.name]),
            logger: quietLogger()
        )
        var letters: Int64 = 0
        for partition in try await reader.partitions(of: EventTopic.deadLetter.name) {
            letters += try await reader.watermarks(for: partition).high
        }
        await reader.close()
        #expect(letters == 0, "\(letters) records in \(EventTopic.deadLetter.name)")

        // Ctrl-C stops the stack cleanly: every service exits and `iomt dev` exits 0.
        dev.interrupt()
        #expect(dev.process.terminationStatus == 0, "iomt dev exit status after SIGINT: \(dev.output())")
        await database.drop()
    }
}

enum StackEnvironment {
    /// The variables `iomt dev` writes once the stack is up.
    static func read(_ file: URL, while process: WorkerProcess, timeout: Duration = .seconds(180)) async throws -> [String: String] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOf: file, encoding: .utf8), text.contains("JWT_HS256_SECRET=") {
                var variables: [String: String] = [:]
                for line in text.split(separator: "\n") {
                    guard let equals = line.firstIndex(of: "=") else { continue }
                    variables[String(line[..<equals])] = String(line[line.index(after: equals)...])
                }
                return variables
            }
            guard process.process.isRunning else { throw HarnessError("iomt dev exited: \(process.output())") }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw HarnessError("iomt dev did not come up: \(process.output())")
    }
}

/// GETs against the query API with a bearer token.
struct QueryClient {
    let url: String
    let token: String

    func get(_ path: String) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url + path)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]) ?? [:]
    }

    func items(_ path: String, allPages: Bool = false) async throws -> [[String: Any]] {
        var items: [[String: Any]] = []
        var page = try await get(path)
        items += page["items"] as? [[String: Any]] ?? []
        while allPages, let cursor = page["nextCursor"] as? String {
            page = try await get(path + "&cursor=" + (cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor))
            items += page["items"] as? [[String: Any]] ?? []
        }
        return items
    }

    /// Waits until every projection has applied everything in Kafka.
    func waitUntilCaughtUp() async throws {
        let caughtUp = try await eventually(timeout: .seconds(120)) { () -> Bool? in
            let projections = try await get("/v1/projections")["projections"] as? [[String: Any]] ?? []
            let names = Set(projections.compactMap { $0["name"] as? String })
            guard names.isSuperset(of: ["patient-state", "asset-inventory", "alerts"]) else { return nil }
            return projections.allSatisfy { $0["lag"] as? Int == 0 } ? true : nil
        }
        #expect(caughtUp == true, "the workers did not catch up")
    }
}
