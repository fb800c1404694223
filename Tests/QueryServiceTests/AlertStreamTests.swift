import AsyncHTTPClient
import Events
import Foundation
import NIOCore
import Testing
import WorkerTestSupport

/// Reads Server-Sent Events from `/v1/alerts/stream`.
final class EventStreamReader: @unchecked Sendable {
    // @unchecked: used from one test task at a time.
    struct ServerEvent {
        var id: Int64
        var data: [String: Any]
    }

    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var buffer = ""

    init(port: Int, token: String, lastEventID: Int64? = nil) async throws {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/alerts/stream")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: String(lastEventID)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(120))
        guard response.status == .ok else { throw HarnessError("stream answered \(response.status)") }
        iterator = response.body.makeAsyncIterator()
    }

    /// The next event matching `predicate`, waiting at most `timeout`.
    func next(timeout: Duration = .seconds(10), where predicate: (ServerEvent) -> Bool) async throws -> ServerEvent? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            while let range = buffer.range(of: "\n\n") {
                let block = String(buffer[..<range.lowerBound])
                buffer.removeSubrange(..<range.upperBound)
                var id: Int64?
                var data: String?
                for line in block.split(separator: "\n") {
                    if line.hasPrefix("id: ") { id = Int64(line.dropFirst(4)) }
                    if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
                }
                if let id, let data, let json = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] {
                    let event = ServerEvent(id: id, data: json)
                    if predicate(event) { return event }
                }
            }
            guard let chunk = try await iterator.next() else { return nil }
            buffer += String(buffer: chunk)
        }
        return nil
    }
}

@Suite("Live alert stream", .serialized, .timeLimit(.minutes(3)))
struct AlertStreamTests {
    @Test("an alert change reaches the stream within 1 second of its event entering Kafka, and Last-Event-ID resumes without gaps")
    func liveAndResume() async throws {
        let stack = try await QueryStack.shared.get()
        let token = try await token([.clinician], facilities: ["fac-north", "fac-south"])
        let reader = try await EventStreamReader(port: stack.port, token: token)
        _ = try await reader.next(timeout: .seconds(1)) { _ in false }  // let the subscription settle
        func alarm(_ device: String, _ code: String) -> Event {
            Event(id: "sse-\(UUID().uuidString)", source: "urn:test", time: EventTime(Date()), payload: .deviceAlarm(DeviceAlarm(deviceId: device, code: code, priority: .high, message: "test alarm")))
        }
        let sent = ContinuousClock.now
        try await stack.environment.produce([alarm("dev-n1", "VTACH")], with: stack.producer)
        let first = try #require(try await reader.next { $0.data["deviceId"] as? String == "dev-n1" && $0.data["rule"] as? String == "device.alarm" })
        let latency = ContinuousClock.now - sent
        #expect(latency < .seconds(1), "alert change after \(latency)")

        // Disconnected: a change happens; reconnecting with Last-Event-ID replays it.
        try await stack.environment.produce([alarm("dev-n2", "ASY")], with: stack.producer)
        let probe = try await EventStreamReader(port: stack.port, token: token)
        _ = try await probe.next { $0.data["deviceId"] as? String == "dev-n2" && $0.data["rule"] as? String == "device.alarm" }
        let resumed = try await EventStreamReader(port: stack.port, token: token, lastEventID: first.id)
        let replayed = try #require(try await resumed.next { $0.data["deviceId"] as? String == "dev-n2" && $0.data["rule"] as? String == "device.alarm" })
        #expect(replayed.id > first.id)
        let repeated = try await EventStreamReader(port: stack.port, token: token, lastEventID: first.id)
        let again = try await repeated.next(timeout: .seconds(2)) { $0.id == first.id }
        #expect(again == nil, "events up to Last-Event-ID are not sent again")

        // Changes of one transaction are announced together, as the range of
        // sequence numbers it appended; the stream delivers each of them, once.
        let devices = ["dev-n1", "dev-n2", "dev-s1"]
        try await stack.environment.produce(devices.map { alarm($0, "VFIB") }, with: stack.producer)
        var pending = Set(devices)
        var ids: [Int64] = []
        while !pending.isEmpty, let event = try await reader.next(where: { $0.data["message"] as? String == "VFIB: test alarm" }) {
            if let device = event.data["deviceId"] as? String { pending.remove(device) }
            ids.append(event.id)
        }
        #expect(pending.isEmpty, "changes not streamed for \(pending.sorted())")
        #expect(Set(ids).count == ids.count, "a change was streamed twice: \(ids)")
    }
}

@Suite("The OpenAPI document against the live service", .serialized, .timeLimit(.minutes(6)))
struct SchemathesisTests {
    @Test("schemathesis finds no 5xx and no response that breaks the document")
    func schemathesis() async throws {
        let stack = try await QueryStack.shared.get()
        let executable = repositoryRoot.appendingPathComponent(".data/venv/bin/schemathesis")
        try #require(FileManager.default.isExecutableFile(atPath: executable.path), "ops/bootstrap.sh installs schemathesis into .data/venv")
        let admin = try await token([.admin], expiresIn: 3600)
        let base = "http://127.0.0.1:\(stack.port)"
        let process = Process()
        process.executableURL = executable
        process.currentDirectoryURL = FileManager.default.temporaryDirectory  // its cache folder stays out of the tree
        process.arguments = [
            "--config-file", repositoryRoot.appendingPathComponent("schemas/openapi/schemathesis.toml").path,
            "run", "\(base)/openapi.yaml", "--url", base,
            "-H", "Authorization: Bearer \(admin)",
            "--checks", "all",
            "--exclude-path-regex", "stream",
            "--max-examples", "25", "--request-timeout", "10", "--workers", "2",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text.suffix(6000))")
    }
}
