import ArgumentParser
import AsyncHTTPClient
import Events
import Foundation
import IngestService
import Kafka
import Logging
import PostgresNIO
import ServiceSupport
import Simulator
import Synchronization

/// `iomt simulate`: a hospital device fleet and its clinical events, through the
/// ingest API or straight to Kafka.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate a device fleet and its patients: vitals, deteriorations, alarms, batteries, moves, admissions and discharges.",
        discussion: """
        Beds with patients (admitted, assessed, deteriorating into NEWS2 medium and \
        high and recovering, discharged and replaced); multiparameter monitors, pulse \
        oximeters, wearables, infusion pumps and bed sensors that register, are \
        assigned, report vitals around each patient's baseline, raise alarms, drain \
        their batteries, move (RTLS) and now and then go silent. The same --seed \
        gives the same fleet and the same sequence of events; event times follow \
        the clock.

        --output ingest (default) posts through the ingest API: it creates a device \
        token per device in PostgreSQL (DATABASE_URL) and revokes them on exit, and \
        signs a clinical-system JWT for care events (JWT_HS256_SECRET). --output \
        kafka writes to KAFKA_BROKERS directly. With --query-url, simulated clinicians \
        read open alerts there and acknowledge most medium and high ones after \
        --ack-after seconds. Progress goes to stderr every 5 s; Ctrl-C stops cleanly.
        """
    )

    /// Where events go.
    enum Output: String, ExpressibleByArgument, CaseIterable {
        case ingest, kafka
    }

    @Option(help: "ingest (through the HTTP API) or kafka (straight to KAFKA_BROKERS).")
    var output: Output = .ingest

    @Option(help: "Base URL of the ingest service.")
    var ingestURL = "http://127.0.0.1:8080"

    @Option(help: "Base URL of the query service; enables alert acknowledgements.")
    var queryURL: String?

    @Option(help: "Events per second.")
    var rate = 50.0

    @Option(help: "Seconds to run; 0 runs until Ctrl-C.")
    var duration = 0.0

    @Option(help: "Seed of every random choice.")
    var seed: UInt64 = 1

    @Option(help: "Beds, each with one patient at a time.")
    var patients = 48

    @Option(help: "Facilities (fac-1 …).")
    var facilities = 2

    @Option(help: "Milliseconds per tick; each device posts once per tick at most.")
    var tickMs = 200

    @Option(help: "Staggered device groups: each device sends its vitals once every this many ticks.")
    var phases = 1

    @Option(help: "Device heartbeat interval in seconds.")
    var heartbeatSeconds = 30.0

    @Option(help: "Mean seconds between deterioration onsets (0: none).")
    var episodeEvery = 60.0

    @Option(help: "Seconds a deterioration takes to reach its target, and to recover.")
    var episodeRamp = 20.0

    @Option(help: "Seconds a deterioration holds at its target.")
    var episodeHold = 120.0

    @Option(help: "Mean length of stay in seconds (0: nobody is discharged).")
    var meanStay = 900.0

    @Option(help: "Mean seconds between technical device alarms.")
    var alarmEvery = 45.0

    @Option(help: "Mean seconds between devices going silent (0: never).")
    var silentEvery = 300.0

    @Option(help: "Seconds a silent device stays silent.")
    var silentFor = 240.0

    @Option(help: "Seconds an alert stays open before a clinician acknowledges it.")
    var ackAfter = 20.0

    @Option(help: "Share of medium and high alerts acknowledged (0–1).")
    var ackShare = 0.7

    @Option(help: "Prefix of patient and device ids.")
    var prefix = "sim"

    @Option(help: "Write what was sent (patients, latest vitals, episodes, acknowledgements) to this JSON file.")
    var reportFile: String?

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        guard duration >= 0 else { throw ValidationError("--duration must be 0 or more") }
        guard patients > 0, facilities > 0 else { throw ValidationError("--patients and --facilities must be positive") }
        guard (10...10_000).contains(tickMs) else { throw ValidationError("--tick-ms must be from 10 to 10000") }
        guard (0...1).contains(ackShare) else { throw ValidationError("--ack-share must be from 0 to 1") }
        guard (1...100).contains(phases) else { throw ValidationError("--phases must be from 1 to 100") }
        guard heartbeatSeconds >= 1 else { throw ValidationError("--heartbeat-seconds must be at least 1") }
    }

    func run() async throws {
        try logging.bootstrap()
        var fleet = FleetConfiguration()
        fleet.patients = patients
        fleet.facilities = facilities
        fleet.seed = seed
        fleet.rate = rate
        fleet.phases = phases
        fleet.heartbeatInterval = heartbeatSeconds
        fleet.episodeEvery = episodeEvery
        fleet.episodeRamp = episodeRamp
        fleet.episodeHold = episodeHold
        fleet.meanStay = meanStay
        fleet.alarmEvery = alarmEvery
        fleet.silentEvery = silentEvery
        fleet.silentFor = silentFor
        fleet.prefix = prefix
        var simulator = FleetSimulator(fleet)

        let stop = ChildProcesses.stopOnInterrupt()
        let signer = try await signer()
        let sink = try await makeSink(simulator: simulator, signer: signer, stop: stop)
        var acknowledger: Acknowledger?
        if let queryURL {
            guard let signer else { throw ValidationError("--query-url needs JWT_HS256_SECRET to sign the clinicians' token") }
            let token = try await signer.sign(AccessClaims(
                subject: "simulator-nurse-station", roles: [.clinician], facilities: simulator.facilities,
                expiresAt: Date().addingTimeInterval(max(duration, 86_400) + 3600)
            ))
            acknowledger = Acknowledger(url: queryURL, token: token, after: ackAfter, share: ackShare, prefix: prefix)
        }

        FileHandle.standardError.write(Data("iomt simulate: \(patients) beds, \(simulator.deviceIDs.count) devices, \(rate) events/s to \(output == .ingest ? ingestURL : "Kafka")\(duration > 0 ? " for \(duration) s" : " until Ctrl-C")\n".utf8))
        let clock = ContinuousClock()
        let start = clock.now
        var reported = Set<String>()
        var nextProgress = 5.0
        var nextAcknowledgement = 1.0
        var running = SimulationTally()
        let totals = await runTicks(&simulator, sink: sink, tickMs: tickMs, duration: duration, stop: stop) { simulator, tick in
            var extra = SimulationTally()
            if var current = acknowledger, tick.elapsed >= nextAcknowledgement {
                nextAcknowledgement = tick.elapsed + 1
                let acknowledgements = await current.due(simulator: &simulator)
                acknowledger = current
                if !acknowledgements.isEmpty { extra = await sink.send(acknowledgements) }
            }
            for reason in (tick.tally + extra).reasons where reported.insert(reason).inserted && reported.count <= 20 {
                FileHandle.standardError.write(Data("iomt simulate: not accepted: \(reason)\n".utf8))
            }
            running = running + tick.tally + extra
            if tick.elapsed >= nextProgress {
                nextProgress += 5
                FileHandle.standardError.write(Data(String(
                    format: "iomt simulate: %.0f s, %d events sent (%d accepted, %d rejected, %d failed), %d episodes, %d acknowledgements%@\n",
                    tick.elapsed, simulator.report.events, running.accepted, running.rejected, running.failed,
                    simulator.report.episodes.count, simulator.report.acknowledgements.count,
                    tick.behind > 1 ? String(format: ", %.1f s behind the rate", tick.behind) : ""
                ).utf8))
            }
            return extra
        }
        await sink.close()
        let report = simulator.report
        if let reportFile {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: reportFile))
        }
        let seconds = (clock.now - start).seconds
        FileHandle.standardError.write(Data(String(
            format: "iomt simulate: done in %.1f s: %d events (%.0f/s), %d accepted, %d rejected, %d failed; %d patients, %d episodes, %d acknowledgements\n",
            seconds, report.events, Double(report.events) / max(seconds, 0.001), totals.accepted, totals.rejected, totals.failed,
            report.patients.count, report.episodes.count, report.acknowledgements.count
        ).utf8))
        if totals.rejected + totals.failed > 0 { throw ExitCode(1) }
    }

    /// The HS256 signer of the simulator's JWTs, when JWT_HS256_SECRET is set.
    func signer() async throws -> AccessTokenVerifier? {
        guard let secret = ServiceEnvironment.process["JWT_HS256_SECRET"], !secret.isEmpty else { return nil }
        return try await AccessTokenVerifier(settings: .hs256(secret: secret))
    }

    func makeSink(simulator: FleetSimulator, signer: AccessTokenVerifier?, stop: OnceFlag) async throws -> any SimulationSink {
        switch output {
        case .kafka:
            let settings = try KafkaSettings(environment: .process)
            var logger = Logger(label: "iomt.simulate")
            logger.logLevel = .warning
            var configuration = settings.producerConfiguration(clientID: "iomt-simulate")
            configuration.linger = .milliseconds(5)
            let producer = try KafkaProducer(configuration: configuration, logger: logger)
            return KafkaSink(producer: producer)
        case .ingest:
            guard let signer else { throw ValidationError("--output ingest needs JWT_HS256_SECRET to sign the clinical system's token") }
            let systemToken = try await signer.sign(AccessClaims(
                subject: "simulator-ehr", roles: [.clinicalSystem], facilities: simulator.facilities,
                expiresAt: Date().addingTimeInterval(max(duration, 86_400) + 3600)
            ))
            let devices = simulator.deviceIDs
            let tokens = try await database.withDeviceTokens { try await $0.create(deviceIds: devices, label: "iomt simulate") }
            let database = database
            return IngestSink(url: ingestURL.trimmingSuffix("/"), deviceTokens: tokens, systemToken: systemToken, stop: stop) {
                // The tokens were for this run only.
                _ = try? await database.withDeviceTokens { store in
                    for token in tokens.values { _ = try await store.revoke(token: token) }
                }
            }
        }
    }
}

/// One tick of a simulation run, as sent.
struct SimulatedTick {
    /// Seconds into the run.
    let elapsed: Double
    /// The events of the tick.
    let events: [Event]
    /// What the sink made of them.
    let tally: SimulationTally
    /// How long sending them took.
    let sendTime: Duration
    /// How far behind its schedule the tick started, in seconds.
    let behind: Double
}

/// Runs ticks of `tickMs` for `duration` seconds (0: until `stop`), each on its
/// schedule, sending each tick's events and then calling `afterTick` (in tick
/// order, once the tick's sends are done), whose tally is added to the total
/// returned. `from` continues a run that already went that many seconds;
/// `onSend` sees each tick's events as their sending starts.
///
/// With `window` 1 a tick starts only when the previous one has been sent, which
/// keeps every device's requests in order. A larger window lets the sends of up
/// to `window` ticks overlap (open-loop load); a device's vitals then stay in
/// order only when it reports once every `window` ticks or less often
/// (``FleetConfiguration/phases``).
func runTicks(
    _ simulator: inout FleetSimulator, sink: some SimulationSink, tickMs: Int, from: Double = 0, duration: Double, stop: OnceFlag,
    window: Int = 1, onSend: ([Event]) -> Void = { _ in }, afterTick: (inout FleetSimulator, SimulatedTick) async -> SimulationTally
) async -> SimulationTally {
    let clock = ContinuousClock()
    let start = clock.now
    var totals = SimulationTally()
    var tick = 0
    var inFlight: [(elapsed: Double, events: [Event], behind: Double, send: Task<(SimulationTally, Duration), Never>)] = []
    func finishOldest(_ simulator: inout FleetSimulator) async {
        let oldest = inFlight.removeFirst()
        let (tally, sendTime) = await oldest.send.value
        let outcome = SimulatedTick(elapsed: oldest.elapsed, events: oldest.events, tally: tally, sendTime: sendTime, behind: oldest.behind)
        totals = totals + tally + (await afterTick(&simulator, outcome))
    }
    while !stop.isSet {
        tick += 1
        if duration > 0, Double(tick * tickMs) / 1000 > duration { break }
        let elapsed = from + Double(tick * tickMs) / 1000
        let due = start + .milliseconds(tick * tickMs)
        if clock.now < due { try? await Task.sleep(until: due, clock: clock) }
        if stop.isSet { break }
        let behind = (clock.now - due).seconds
        let events = simulator.tick(at: EventTime(Date()), elapsed: elapsed)
        let send = Task {
            let sent = ContinuousClock.now
            let tally = events.isEmpty ? SimulationTally() : await sink.send(events)
            return (tally, ContinuousClock.now - sent)
        }
        onSend(events)
        inFlight.append((elapsed, events, behind, send))
        while inFlight.count >= max(1, window) { await finishOldest(&simulator) }
    }
    while !inFlight.isEmpty { await finishOldest(&simulator) }
    return totals
}

/// Simulated clinicians: read the open alerts of the fleet through the query
/// API and acknowledge a share of the medium and high ones once they have been
/// open for a while.
struct Acknowledger: Sendable {
    let url: String
    let token: String
    let after: Double
    let share: Double
    let prefix: String
    var done: Set<String> = []

    /// Acknowledgement events for the alerts due now.
    mutating func due(simulator: inout FleetSimulator) async -> [Event] {
        var events: [Event] = []
        var cursor: String?
        let now = Date()
        for _ in 0..<20 {
            var path = url.trimmingSuffix("/") + "/v1/alerts?status=open&limit=500"
            if let cursor { path += "&cursor=" + (cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor) }
            var request = HTTPClientRequest(url: path)
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)),
                  response.status == .ok,
                  let body = try? await response.body.collect(upTo: 16 << 20),
                  let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                  let items = object["items"] as? [[String: Any]] else { break }
            for item in items {
                guard let id = item["alertId"] as? String, !done.contains(id),
                      let priority = item["priority"] as? String, priority != "low",
                      let subject = (item["patientId"] as? String) ?? (item["deviceId"] as? String), subject.hasPrefix(prefix + "-"),
                      let opened = (item["openedAt"] as? String).flatMap({ EventTime(rfc3339: $0) }),
                      now.timeIntervalSince(opened.date) >= after else { continue }
                done.insert(id)
                let hash = Self.fnv1a(id)
                guard Double(hash % 10_000) / 10_000 < share else { continue }
                events.append(simulator.acknowledgement(alertId: id, by: "nurse-\(hash % 8 + 1)", at: EventTime(now)))
            }
            guard let next = object["nextCursor"] as? String else { break }
            cursor = next
        }
        return events
    }

    /// FNV-1a: a stable hash, so the same alert gets the same decision every run.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
