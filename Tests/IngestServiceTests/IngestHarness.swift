import Events
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IngestService
import Kafka
import Logging
import NIOCore
import ServiceSupport
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let testSecret = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

/// Integration tests get their servers from the test script's environment.
enum TestEnvironment {
    static var kafkaBrokers: String {
        get throws { try #require(ProcessInfo.processInfo.environment["KAFKA_BROKERS"], "KAFKA_BROKERS is set by ops/test.sh") }
    }
    static var databaseURL: String {
        get throws { try #require(ProcessInfo.processInfo.environment["DATABASE_URL"], "DATABASE_URL is set by ops/test.sh") }
    }
    static var python: String { ProcessInfo.processInfo.environment["IOMT_PYTHON"] ?? "/usr/bin/python3" }
}

func testLogger() -> Logger {
    var logger = Logger(label: "test.ingest")
    logger.logLevel = .error
    return logger
}

/// Runs an ingest service on a free port for the duration of `body`.
func withIngest<T: Sendable>(
    brokers: String? = nil,
    adjust: (inout IngestConfiguration) -> Void = { _ in },
    _ body: @Sendable (IngestClient) async throws -> T
) async throws -> T {
    var configuration = IngestConfiguration(
        http: HTTPSettings(host: "127.0.0.1", port: 0),
        kafka: KafkaSettings(brokers: try brokers ?? TestEnvironment.kafkaBrokers),
        database: try DatabaseSettings(url: TestEnvironment.databaseURL),
        jwt: .hs256(secret: testSecret)
    )
    configuration.tokenCacheTTL = .zero
    configuration.kafkaDeadline = .seconds(5)
    adjust(&configuration)
    let parts = try await IngestService.build(configuration: configuration, logger: testLogger())
    return try await parts.application.test(.live) { client in
        try await parts.deviceTokens.migrate()
        return try await body(IngestClient(client: client, tokens: parts.deviceTokens))
    }
}

/// A thin client for `POST /v1/events`.
struct IngestClient: Sendable {
    let client: any TestClientProtocol
    let tokens: DeviceTokenStore

    struct Reply: Sendable {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let text: String

        /// The body as a JSON object (empty when it is not one).
        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }
    }

    func post(_ body: String, contentType: String? = "application/cloudevents-batch+json", token: String?) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let contentType { headers[.contentType] = contentType }
        if let token { headers[.authorization] = "Bearer \(token)" }
        let response = try await client.execute(uri: "/v1/events", method: .post, headers: headers, body: ByteBuffer(string: body))
        return Reply(status: response.status, headers: response.headers, text: String(buffer: response.body))
    }

    func get(_ path: String) async throws -> (HTTPResponse.Status, String) {
        let response = try await client.execute(uri: path, method: .get)
        return (response.status, String(buffer: response.body))
    }
}

/// Event JSON builders with unique ids.
enum Sample {
    static func id() -> String { UUID().uuidString.lowercased() }

    static func vitals(device: String, id: String = Sample.id(), unit: String = "/min", time: String = "2026-11-25T10:00:00Z", patient: String? = nil) -> String {
        let patientMember = patient.map { #","patientId":"\#($0)""# } ?? ""
        return #"{"specversion":"1.0","id":"\#(id)","source":"urn:iomt:device:\#(device)","type":"iomt.vitals.observed.v1","time":"\#(time)","data":{"deviceId":"\#(device)"\#(patientMember),"observations":[{"code":"8867-4","value":72,"unit":"\#(unit)"},{"code":"59408-5","value":97,"unit":"%"}]}}"#
    }

    static func admitted(patient: String, id: String = Sample.id()) -> String {
        #"{"specversion":"1.0","id":"\#(id)","source":"urn:iomt:ehr:north","type":"iomt.patient.admitted.v1","time":"2026-11-25T09:00:00Z","data":{"patientId":"\#(patient)","facilityId":"fac-north","unit":"ward-3","bed":"12"}}"#
    }

    static func batch(_ events: [String]) -> String { "[" + events.joined(separator: ",") + "]" }

    static func uniqueDevice() -> String { "dev-test-" + String(UUID().uuidString.prefix(8)).lowercased() }
}

/// Signs a JWT with the test secret.
func jwt(roles: [AccessRole], expiresIn: TimeInterval = 600, secret: String = testSecret) async throws -> String {
    let signer = try await AccessTokenVerifier(settings: .hs256(secret: secret))
    return try await signer.sign(AccessClaims(subject: "ehr-north", roles: roles, facilities: ["fac-north"], expiresAt: Date().addingTimeInterval(expiresIn)))
}

/// Reads records with the given ce_ids from a topic using python's confluent_kafka.
func readWithConfluentKafka(brokers: String, topic: String, ids: [String], timeout: Int = 30) throws -> [[String: Any]] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: TestEnvironment.python)
    process.arguments = [repositoryRoot.appendingPathComponent("Tests/Support/read_topic.py").path, brokers, topic, ids.joined(separator: ","), String(timeout)]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
        (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
    }
}
