import ArgumentParser
import Events
import Foundation
import Kafka
import Logging
import PatientState
import PostgresNIO
import ProjectionKit
import QueryService
import ServiceSupport
import Simulator

/// `iomt bench query`: `GET /v1/patients/{id}` through `iomt-query`, against the
/// same lookup as a plain prepared `SELECT` through PostgresNIO.
struct QueryBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Patient lookups through the query service, against a plain prepared SELECT.",
        discussion: """
        Fills a fresh database (on the PostgreSQL server of DATABASE_URL or \
        --database-url) with the patient-state projection of a simulated ward, starts \
        a dev broker and iomt-query as child processes, then measures GET \
        /v1/patients/{id} with a clinician's token (each read audited, as in \
        production) at a fixed rate and at the maximum, and the same lookup as a \
        prepared SELECT over the same number of connections as the limit.
        """
    )

    @Option(help: "Patients in the projection.")
    var patients: Int = 2_000

    @Option(help: "Fixed request rate of the latency phase, requests/s.")
    var rate: Int = 2_000

    @Option(help: "Seconds per load phase.")
    var seconds: Int = 10

    @Option(help: "Concurrent requests in the maximum-rate phases.")
    var connections: Int = 16

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard patients > 0, rate > 0, seconds > 0, connections > 0 else {
            throw ValidationError("--patients, --rate, --seconds and --connections must be positive")
        }
    }

    func run() async throws {
        try logging.bootstrap()
        let logger = Logger(label: "iomt.bench.query")
        guard let baseURL = database.url ?? ServiceEnvironment.process["DATABASE_URL"] else { throw ValidationError("DATABASE_URL is not set") }
        print("iomt bench query: GET /v1/patients/{id} over \(patients) patients, \(seconds) s per phase")

        try await BenchDatabase.with(base: database.settings(), url: baseURL, logger: logger) { bench in
            try await measure(bench, logger: logger)
        }
    }

    /// Fills `bench`, starts the service on it and measures; the service and the
    /// broker are stopped before the database is dropped.
    private func measure(_ bench: BenchDatabase, logger: Logger) async throws {
        let projected = try await fill(bench.settings, logger: logger)
        print("projected \(projected) events into patient_state")

        let broker = try ChildBroker(topics: [])
        defer { broker.stop() }
        let port = try LoopbackPort.free()
        let secret = Self.randomText(48)
        let queryPassword = Self.randomText(32)
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent("iomt-bench-query.log")
        let query = try ChildService(executable: "iomt-query", environment: [
            "KAFKA_BROKERS": broker.bootstrapServers,
            "DATABASE_URL": bench.url,
            "DATABASE_MAX_CONNECTIONS": String(connections),
            "QUERY_DATABASE_PASSWORD": queryPassword,
            "JWT_HS256_SECRET": secret,
            "HTTP_HOST": "127.0.0.1",
            "HTTP_PORT": String(port),
            "LOG_LEVEL": "warning",
        ], logFile: logFile)
        defer { query.stop() }
        try await query.waitUntilReady("http://127.0.0.1:\(port)/ready")

        let token = try await AccessTokenVerifier(settings: .hs256(secret: secret)).sign(AccessClaims(
            subject: "bench-clinician", roles: [.clinician], facilities: ["fac-0", "fac-1", "fac-2"], expiresAt: Date().addingTimeInterval(3600)
        ))
        let ids = (0..<patients).map { "pat-\($0)" }
        let http = HTTPLoad(host: "127.0.0.1", port: port, headers: ["Host": "127.0.0.1", "Authorization": "Bearer \(token)"]) { index in
            "/v1/patients/\(ids[index % ids.count])"
        }
        _ = try await http.closedLoop(connections: connections, duration: .seconds(2))  // warm-up
        let fixed = try await http.openLoop(requestsPerSecond: Double(rate), duration: .seconds(seconds), connections: connections)
        let maximum = try await http.closedLoop(connections: connections, duration: .seconds(seconds))
        guard maximum.eventsPerSecond > 0 else {
            throw ValidationError("no lookup succeeded (\(maximum.failures) failed); see \(logFile.path)")
        }

        // The limit: the same lookup, prepared, as the read-only role, over as many connections.
        var readOnly = bench.settings.with(username: ReadAccess.defaultRole, password: queryPassword)
        readOnly.maximumConnections = connections
        let plain = try await PostgresClient.withClient(readOnly, logger: logger) { client in
            let select = LoadGenerator(itemsPerRequest: 1) { index in
                guard let rows = try? await client.execute(PatientLookup(patientId: ids[index % ids.count]), logger: logger) else { return false }
                var found = false
                do {
                    for try await (state, _) in rows where !state.isEmpty { found = true }
                } catch {
                    return false
                }
                return found
            }
            _ = try await select.closedLoop(connections: connections, duration: .seconds(2))  // warm-up
            return try await select.closedLoop(connections: connections, duration: .seconds(seconds))
        }

        print("")
        print(row("phase", "lookups/s", "p50 ms", "p99 ms", "max ms", "errors"))
        print(row("fixed", format(fixed.eventsPerSecond), ms(fixed.p50), ms(fixed.p99), ms(fixed.max), String(fixed.failures)))
        print(row("max", format(maximum.eventsPerSecond), ms(maximum.p50), ms(maximum.p99), ms(maximum.max), String(maximum.failures)))
        print(row("SELECT", format(plain.eventsPerSecond), ms(plain.p50), ms(plain.p99), ms(plain.max), String(plain.failures)))
        print("")
        print("fixed phase: \(rate) requests/s offered; query max / prepared SELECT = \(String(format: "%.2f", maximum.eventsPerSecond / plain.eventsPerSecond))")
        print("goals: p99 <= 5 ms at 2,000 requests/s; maximum >= 0.5 x the prepared SELECT")
    }

    /// Fills the patient-state projection with a simulated ward: admissions,
    /// assignments and about 20 further events per patient.
    private func fill(_ settings: DatabaseSettings, logger: Logger) async throws -> Int {
        let plugin = PatientStateProjection()
        var workload = PatientWorkload(patients: patients, devices: patients * 2, seed: 2026)
        let events = plugin.standalone(workload.setup() + workload.stream(patients * 20))
        try await PostgresClient.withClient(settings, logger: logger) { client in
            try await plugin.migrate(client: client, logger: logger)
            var start = 0
            while start < events.count {
                let chunk = Array(events[start..<min(start + 5_000, events.count)])
                try await plugin.applyStandalone(chunk, client: client, logger: logger, now: chunk.last!.event.time)
                start += chunk.count
            }
        }
        return events.count
    }

    private func ms(_ nanoseconds: UInt64) -> String { String(format: "%.2f", Double(nanoseconds) / 1e6) }

    static func randomText(_ count: Int) -> String {
        String((0..<count).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
    }
}
