import Events
import Foundation
import HTTPTypes
import HummingbirdTesting
import Kafka
import Logging
import NIOCore
import PostgresNIO
import QueryService
import ServiceSupport
import Synchronization
import Testing
import WorkerTestSupport

let querySecret = "query-test-secret-0123456789-abcdefghijklmnop"
let queryPassword = "query-role-password-for-tests"

/// One environment for the whole suite: a broker, a database, the three workers
/// fed with a known set of events, and the query service on a free port.
actor QueryStack {
    static let shared = QueryStack()

    struct Running: Sendable {
        let environment: WorkerEnvironment
        let port: Int
        let producer: KafkaProducer
        let start: EventTime
    }

    private var starting: Task<Running, any Error>?
    private var workers: [WorkerProcess] = []

    /// The running stack, started by the first caller (concurrent callers wait
    /// for the same start).
    func get() async throws -> Running {
        if let starting { return try await starting.value }
        let task = Task { try await start() }
        starting = task
        return try await task.value
    }

    private func start() async throws -> Running {
        let environment = try await WorkerEnvironment.make()
        workers = try ["iomt-patient-state", "iomt-asset-inventory", "iomt-alerts"].map { try environment.worker($0) }
        let producer = try environment.producer()
        let start = EventTime(Date())
        let ends = try await environment.produce(Dataset.events(start: start), with: producer)
        for projection in ["patient-state", "asset-inventory", "alerts"] {
            let topics: Set<String> = projection == "asset-inventory" ? [EventTopic.deviceEvents.name] : [EventTopic.deviceEvents.name, EventTopic.careEvents.name]
            try await environment.waitForCheckpoints(ends.filter { topics.contains($0.key.topic) }, projection: projection)
        }
        let configuration = QueryConfiguration(
            http: HTTPSettings(host: "127.0.0.1", port: 0),
            database: environment.database.settings,
            queryPassword: queryPassword,
            kafka: KafkaSettings(brokers: environment.broker.bootstrapServers),
            jwt: .hs256(secret: querySecret)
        )
        var withSpec = configuration
        withSpec.openAPIFile = repositoryRoot.appendingPathComponent("schemas/openapi/query.yaml").path
        let port = Mutex<Int?>(nil)
        let parts = try await QueryService.build(configuration: withSpec, logger: quietLogger("test.query")) { bound in port.withLock { $0 = bound } }
        Task { try await parts.application.runService() }
        while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(20)) }
        return Running(environment: environment, port: port.withLock { $0 }!, producer: producer, start: start)
    }
}

/// The suite's events: two facilities, patients with NEWS2 from low to high,
/// devices with alarms, low batteries and assignments.
enum Dataset {
    static func events(start: EventTime) -> [Event] {
        var events: [Event] = []
        var second: Int64 = 0
        func add(_ payload: EventPayload) {
            second += 1
            events.append(Event(id: "q-\(second)-\(UUID().uuidString.prefix(6))", source: "urn:test:query", time: start.adding(.seconds(second)), payload: payload))
        }
        for (patient, facility) in [("pat-n1", "fac-north"), ("pat-n2", "fac-north"), ("pat-s1", "fac-south")] {
            add(.patientAdmitted(PatientAdmission(patientId: patient, facilityId: facility, unit: "ward-1", bed: "b-\(patient)")))
            add(.patientAssessed(PatientAssessed(patientId: patient, consciousness: .alert, supplementalOxygen: false)))
        }
        for (device, facility, patient) in [("dev-n1", "fac-north", "pat-n1"), ("dev-n2", "fac-north", "pat-n2"), ("dev-s1", "fac-south", "pat-s1")] {
            add(.deviceRegistered(DeviceRegistered(deviceId: device, kind: "multiparameter-monitor", model: "M-1", manufacturer: "Acme", serialNumber: "SN-\(device)", firmware: "1.0", facilityId: facility, grade: .medical, heartbeatIntervalSeconds: 60)))
            add(.deviceAssigned(DeviceAssignment(deviceId: device, patientId: patient)))
        }
        // pat-n1: NEWS2 7 (high); pat-n2 and pat-s1: NEWS2 0.
        add(.vitalsObserved(VitalsObserved(deviceId: "dev-n1", observations: vitals(rr: 25, spo2: 95, sbp: 105, pulse: 115, temp: 37))))
        add(.vitalsObserved(VitalsObserved(deviceId: "dev-n2", observations: vitals(rr: 16, spo2: 98, sbp: 120, pulse: 70, temp: 36.8))))
        add(.vitalsObserved(VitalsObserved(deviceId: "dev-s1", observations: vitals(rr: 16, spo2: 98, sbp: 120, pulse: 70, temp: 36.8))))
        add(.deviceHeartbeat(DeviceHeartbeat(deviceId: "dev-n2", batteryPercent: 8, signalDbm: -70)))
        add(.deviceHeartbeat(DeviceHeartbeat(deviceId: "dev-s1", batteryPercent: 90, signalDbm: -50)))
        add(.deviceAlarm(DeviceAlarm(deviceId: "dev-s1", patientId: "pat-s1", code: "LEADOFF", priority: .low, message: "lead off")))
        // dev-n2's battery stays low past the rule's 60 s persistence: the alert opens.
        second += 90
        add(.deviceHeartbeat(DeviceHeartbeat(deviceId: "dev-n2", batteryPercent: 7, signalDbm: -70)))
        return events
    }

    static func vitals(rr: Double, spo2: Double, sbp: Double, pulse: Double, temp: Double) -> [Observation] {
        [Observation(code: "9279-1", value: rr, unit: "/min"), Observation(code: "59408-5", value: spo2, unit: "%"),
         Observation(code: "8480-6", value: sbp, unit: "mm[Hg]"), Observation(code: "8867-4", value: pulse, unit: "/min"),
         Observation(code: "8310-5", value: temp, unit: "Cel")]
    }
}

/// A JWT for the test secret.
func token(_ roles: [AccessRole], facilities: [String] = ["fac-north"], breakGlass: Bool = false, expiresIn: TimeInterval = 600, secret: String = querySecret, subject: String = "user-1") async throws -> String {
    let signer = try await AccessTokenVerifier(settings: .hs256(secret: secret))
    return try await signer.sign(AccessClaims(subject: subject, roles: roles, facilities: facilities, breakGlass: breakGlass ? true : nil, expiresAt: Date().addingTimeInterval(expiresIn)))
}

struct Reply: Sendable {
    let status: Int
    let contentType: String?
    let text: String
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
    var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
}

/// GET `path` with an optional bearer token.
func get(_ path: String, token: String?, headers extra: [String: String] = [:]) async throws -> Reply {
    let stack = try await QueryStack.shared.get()
    return try await TestClient.withClient(host: "127.0.0.1", port: stack.port) { client in
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        let response = try await client.get(path, headers: headers)
        return Reply(status: Int(response.status.code), contentType: response.headers[.contentType], text: response.body.map { String(buffer: $0) } ?? "")
    }
}

/// Audit rows, read with the migrating role (the query role cannot read them).
func auditRows(subject: String) async throws -> [(action: String, patients: [String], outcome: String, breakGlass: Bool)] {
    let stack = try await QueryStack.shared.get()
    return try await stack.environment.database.withClient { client in
        var rows: [(String, [String], String, Bool)] = []
        for try await row in try await client.query("SELECT action, patient_ids, outcome, break_glass FROM audit.reads WHERE subject = \(subject) ORDER BY id").decode((String, [String], String, Bool).self) {
            rows.append(row)
        }
        return rows.map { (action: $0.0, patients: $0.1, outcome: $0.2, breakGlass: $0.3) }
    }
}
