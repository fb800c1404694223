import ArgumentParser
import AsyncHTTPClient
import Events
import Foundation
import Histogram
import IngestService
import Logging
import NIOCore
import PostgresNIO
import ServiceSupport
import Simulator
import Synchronization

/// `iomt bench e2e`: sustained ingest of a simulated fleet at a fixed rate, with
/// freshness (event time → visible through the query API and the alert stream)
/// and the workers' lag.
struct EndToEndBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract: "Freshness end to end (ingest → Kafka → workers → query API / alert stream) at a fixed rate.",
        discussion: """
        Starts a dev broker, iomt-ingest, the three workers and iomt-query as child \
        processes on a new database (from DATABASE_URL), then posts a simulated \
        fleet through the ingest API at --rate events/s for --seconds. Meanwhile: \
        probes sample vitals events and poll GET /v1/patients/{id} every 5 ms until \
        the event is visible; an alert-stream client measures each alert change's \
        arrival against its time; /v1/projections is read every second for lag. \
        The baseline is the ingest acknowledgement time of the same requests: the \
        part of freshness spent before Kafka holds the events. Devices report in \
        --phases staggered groups (each posts once every --phases ticks), and the \
        sends of up to --phases ticks overlap, so the load is open-loop.
        """
    )

    @Option(help: "Events per second offered.")
    var rate = 20_000.0

    @Option(help: "Seconds of sustained load.")
    var seconds = 60

    @Option(help: "Beds of the simulated fleet.")
    var patients = 100

    @Option(help: "Milliseconds per tick.")
    var tickMs = 50

    @Option(help: "Staggered device groups: each device posts its vitals once every this many ticks.")
    var phases = 5

    @Option(help: "Vitals events sampled per second for patient freshness.")
    var probes = 5

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try logging.bootstrap()
        let logger = Logger(label: "iomt.bench.e2e")
        let base = try database.settings()
        guard let baseURL = database.url ?? ServiceEnvironment.process["DATABASE_URL"] else { throw ValidationError("DATABASE_URL is not set") }
        print("iomt bench e2e: \(Int(rate)) events/s for \(seconds) s, \(patients) beds, ticks of \(tickMs) ms, each device posting every \(tickMs * phases) ms")
        let benchDatabase = try await BenchDatabase.create(base: base, url: baseURL, logger: logger)
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("iomt-bench-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        var stack = DevStack(logs: logs)
        do {
            try await measure(stack: &stack, database: benchDatabase, logger: logger)
        } catch {
            stack.stopAll()
            await benchDatabase.drop(logger: logger)
            throw error
        }
        stack.stopAll()
        await benchDatabase.drop(logger: logger)
    }

    func measure(stack: inout DevStack, database benchDatabase: BenchDatabase, logger: Logger) async throws {
        let broker = try ChildBroker(brokers: 1, topics: [])
        stack.broker = broker
        let secret = randomSecret()
        var common = [
            "KAFKA_BROKERS": broker.bootstrapServers, "DATABASE_URL": benchDatabase.url, "JWT_HS256_SECRET": secret,
            "QUERY_DATABASE_PASSWORD": randomSecret(), "HTTP_HOST": "127.0.0.1", "LOG_LEVEL": "warning",
        ]
        let spec = FileManager.default.currentDirectoryPath + "/schemas/openapi/query.yaml"
        if FileManager.default.fileExists(atPath: spec) { common["QUERY_OPENAPI_FILE"] = spec }
        let urls = try await stack.startServices(environment: common, ingestPort: try LoopbackPort.free(), queryPort: try LoopbackPort.free())
        let (ingestURL, queryURL) = (urls.ingest, urls.query)

        var fleet = FleetConfiguration()
        fleet.patients = patients
        fleet.rate = rate
        fleet.phases = phases
        fleet.seed = 2026
        fleet.episodeEvery = 5
        fleet.episodeRamp = 5
        fleet.episodeHold = 20
        fleet.alarmEvery = 0.5
        fleet.meanStay = 0
        fleet.silentEvery = 0
        var simulator = FleetSimulator(fleet)
        let signer = try await AccessTokenVerifier(settings: .hs256(secret: secret))
        let expiry = Date().addingTimeInterval(3600)
        let systemToken = try await signer.sign(AccessClaims(subject: "bench-ehr", roles: [.clinicalSystem], facilities: simulator.facilities, expiresAt: expiry))
        let readerToken = try await signer.sign(AccessClaims(subject: "bench-reader", roles: [.clinician, .ops], facilities: simulator.facilities, expiresAt: expiry))
        let devices = simulator.deviceIDs
        let tokens = try await deviceTokens(for: devices, settings: benchDatabase.settings, logger: logger)
        let stop = OnceFlag()
        let sink = IngestSink(url: ingestURL, deviceTokens: tokens, systemToken: systemToken, stop: stop) {}
        defer { Task { await sink.close() } }
        let query = QueryProbe(url: queryURL, token: readerToken)

        // Warm-up: the registrations and admissions, then 5 s at the rate, not measured.
        print("warm-up: 5 s (\(devices.count) devices)")
        _ = await runTicks(&simulator, sink: sink, tickMs: tickMs, duration: 5, stop: stop) { _, _ in SimulationTally() }
        try await query.waitForLag(atMost: 0, timeout: .seconds(120))

        let stream = AlertStreamProbe(url: queryURL, token: readerToken)
        let streaming = Task { await stream.run() }
        let lagSampler = Task { await query.sampleLag(every: .seconds(1)) }
        var acknowledgement = Histogram<UInt64>(highestTrackableValue: 60_000_000_000)
        let probeLimit = max(1, probes * tickMs / 1000)
        var sampleCredit = 0.0
        print("load: \(seconds) s")
        let clock = ContinuousClock()
        let loadStart = clock.now
        let totals = await withTaskGroup(of: Void.self) { probesGroup in
            let totals = await runTicks(
                &simulator, sink: sink, tickMs: tickMs, from: 5, duration: Double(seconds), stop: stop, window: phases,
                onSend: { events in
                    sampleCredit += Double(probes) * Double(tickMs) / 1000
                    var taken = 0
                    for event in events where sampleCredit >= 1 && taken < probeLimit {
                        guard case .vitalsObserved(let vitals) = event.payload, let patient = vitals.patientId else { continue }
                        sampleCredit -= 1
                        taken += 1
                        probesGroup.addTask { await query.probe(patient: patient, time: event.time) }
                    }
                }
            ) { _, tick in
                if !tick.events.isEmpty { _ = acknowledgement.record(UInt64(tick.sendTime.seconds * 1e9)) }
                return SimulationTally()
            }
            await probesGroup.waitForAll()
            return totals
        }
        let loadSeconds = (clock.now - loadStart).seconds
        let drainStart = clock.now
        try await query.waitForLag(atMost: 0, timeout: .seconds(300))
        let drain = (clock.now - drainStart).seconds
        try? await Task.sleep(for: .seconds(1))
        streaming.cancel()
        lagSampler.cancel()

        let patientFreshness = query.freshness.withLock { $0 }
        let alertFreshness = stream.freshness.withLock { $0 }
        let lag = query.lag.withLock { $0 }
        let achieved = Double(totals.accepted) / loadSeconds
        func ms(_ value: UInt64) -> String { String(format: "%.1f", Double(value) / 1e6) }
        print("")
        print("offered \(format(rate)) events/s, accepted \(format(achieved)) events/s (\(totals.accepted) accepted, \(totals.rejected) rejected, \(totals.failed) failed) in \(String(format: "%.1f", loadSeconds)) s")
        print(row("measure", "samples", "p50 ms", "p99 ms", "max ms"))
        print(row("patient", String(patientFreshness.totalCount), ms(patientFreshness.valueAtPercentile(50)), ms(patientFreshness.valueAtPercentile(99)), ms(patientFreshness.max)))
        print(row("alert", String(alertFreshness.totalCount), ms(alertFreshness.valueAtPercentile(50)), ms(alertFreshness.valueAtPercentile(99)), ms(alertFreshness.max)))
        print(row("ingest ack", String(acknowledgement.totalCount), ms(acknowledgement.valueAtPercentile(50)), ms(acknowledgement.valueAtPercentile(99)), ms(acknowledgement.max)))
        print("patient: event time -> visible through GET /v1/patients/{id}; alert: alert time -> received on /v1/alerts/stream;")
        print("ingest ack (the baseline): POST of a tick's events -> every 202, the share of freshness spent before Kafka holds them")
        print("")
        print("workers' lag (events behind the log end, sampled every second): " + lag.sorted(by: { $0.key < $1.key }).map { name, samples in
            let sorted = samples.sorted()
            return "\(name) max \(sorted.last ?? 0) p50 \(sorted.isEmpty ? 0 : sorted[sorted.count / 2])"
        }.joined(separator: "; "))
        print(String(format: "drain after the load stopped: %.1f s", drain))
        print("goal: patient freshness p99 <= 250 ms at 20,000 events/s")
        if patientFreshness.totalCount == 0 { throw ValidationError("no freshness sample; see the logs in \(stack.logs.path)") }
    }
}

/// Reads the query API during the benchmark: freshness probes and lag samples.
final class QueryProbe: Sendable {
    let url: String
    let token: String
    /// Event time → visible through `GET /v1/patients/{id}`, in nanoseconds.
    let freshness = Mutex(Histogram<UInt64>(highestTrackableValue: 600_000_000_000))
    /// Lag samples per projection.
    let lag = Mutex<[String: [Int]]>([:])

    init(url: String, token: String) {
        self.url = url
        self.token = token
    }

    func get(_ path: String) async -> [String: Any]? {
        var request = HTTPClientRequest(url: url + path)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(10)), response.status == .ok,
              let body = try? await response.body.collect(upTo: 4 << 20) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any]
    }

    /// Polls the patient every 5 ms until their heart rate is as new as `time`.
    func probe(patient: String, time: EventTime) async {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let body = await get("/v1/patients/\(patient)"),
               let observed = ((body["vitals"] as? [String: Any])?["8867-4"] as? [String: Any])?["observedAt"] as? String,
               let seen = EventTime(rfc3339: observed), seen >= time {
                let delay = EventTime(Date()).microseconds - time.microseconds
                _ = freshness.withLock { $0.record(UInt64(max(0, delay)) * 1000) }
                return
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Total lag per projection, or nil when unknown.
    func lags() async -> [String: Int]? {
        guard let projections = await get("/v1/projections")?["projections"] as? [[String: Any]] else { return nil }
        var result: [String: Int] = [:]
        for projection in projections {
            guard let name = projection["name"] as? String, let lag = projection["lag"] as? Int else { return nil }
            result[name] = lag
        }
        return result.count >= 3 ? result : nil
    }

    func sampleLag(every interval: Duration) async {
        while !Task.isCancelled {
            if let lags = await lags() {
                lag.withLock { state in
                    for (name, value) in lags { state[name, default: []].append(value) }
                }
            }
            try? await Task.sleep(for: interval)
        }
    }

    func waitForLag(atMost limit: Int, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let lags = await lags(), lags.values.allSatisfy({ $0 <= limit }) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the workers did not catch up within \(timeout)")
    }
}

/// A client of `GET /v1/alerts/stream` measuring each change's arrival against
/// the change's time.
final class AlertStreamProbe: Sendable {
    let url: String
    let token: String
    /// Alert time → received from the stream, in nanoseconds.
    let freshness = Mutex(Histogram<UInt64>(highestTrackableValue: 600_000_000_000))

    init(url: String, token: String) {
        self.url = url
        self.token = token
    }

    func run() async {
        var request = HTTPClientRequest(url: url + "/v1/alerts/stream")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "text/event-stream")
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(3600)) else { return }
        var pending = ""
        do {
            for try await chunk in response.body {
                pending += String(buffer: chunk)
                while let end = pending.range(of: "\n\n") {
                    let message = pending[..<end.lowerBound]
                    pending = String(pending[end.upperBound...])
                    record(message)
                }
            }
        } catch {}
    }

    func record(_ message: Substring) {
        let now = EventTime(Date())
        for line in message.split(separator: "\n") where line.hasPrefix("data: ") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any],
                  let updated = (object["updatedAt"] as? String).flatMap({ EventTime(rfc3339: $0) }) else { continue }
            _ = freshness.withLock { $0.record(UInt64(max(0, now.microseconds - updated.microseconds)) * 1000) }
        }
    }
}
