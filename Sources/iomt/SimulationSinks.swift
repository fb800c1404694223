import AsyncHTTPClient
import Events
import Foundation
import IngestService
import Kafka
import Logging
import NIOCore
import ServiceSupport

/// Where `iomt simulate` sends its events.
protocol SimulationSink: Sendable {
    /// Sends one tick's events; every event is accepted, rejected (counted in the
    /// tally with its reason) or, after retries, failed.
    func send(_ events: [Event]) async -> SimulationTally
    /// Releases what the sink holds (tokens, producer).
    func close() async
}

/// Outcome counts of sending events.
struct SimulationTally: Sendable {
    var accepted = 0
    var rejected = 0
    var failed = 0
    /// A few reasons, for the operator.
    var reasons: [String] = []

    static func + (lhs: SimulationTally, rhs: SimulationTally) -> SimulationTally {
        SimulationTally(
            accepted: lhs.accepted + rhs.accepted, rejected: lhs.rejected + rhs.rejected, failed: lhs.failed + rhs.failed,
            reasons: Array((lhs.reasons + rhs.reasons).prefix(5))
        )
    }
}

/// Through the ingest API, as a real fleet: each device posts its own events with
/// its own bearer token; care events and acknowledgements come from a clinical
/// system with a JWT. One request per device per tick, all of a tick in parallel.
/// `503` and connection failures are retried with backoff (the ingest service
/// never reports an event accepted that Kafka does not hold, so a retry can only
/// duplicate, never lose; consumers drop duplicates by `ce_source` + `ce_id`).
struct IngestSink: SimulationSink {
    let url: String
    let deviceTokens: [String: String]
    let systemToken: String
    /// Once set, failed requests are not retried (the run is stopping).
    let stop: OnceFlag
    let revoke: @Sendable () async -> Void
    /// Up to 64 keep-alive connections: a tick posts one request per device.
    let client: HTTPClient

    init(url: String, deviceTokens: [String: String], systemToken: String, stop: OnceFlag, revoke: @escaping @Sendable () async -> Void) {
        self.url = url
        self.deviceTokens = deviceTokens
        self.systemToken = systemToken
        self.stop = stop
        self.revoke = revoke
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func send(_ events: [Event]) async -> SimulationTally {
        var requests: [(token: String, events: [Event])] = []
        var byDevice: [String: Int] = [:]
        var care: [Event] = []
        for event in events {
            if let device = event.payload.deviceId, event.type.isDeviceEvent {
                if let index = byDevice[device] {
                    requests[index].events.append(event)
                } else {
                    byDevice[device] = requests.count
                    requests.append((deviceTokens[device] ?? "", [event]))
                }
            } else {
                care.append(event)
            }
        }
        if !care.isEmpty { requests.append((systemToken, care)) }
        return await withTaskGroup(of: SimulationTally.self) { group in
            var total = SimulationTally()
            var inFlight = 0
            for request in requests {
                if inFlight >= 64, let tally = await group.next() {
                    total = total + tally
                    inFlight -= 1
                }
                group.addTask { await post(request.events, token: request.token) }
                inFlight += 1
            }
            for await tally in group { total = total + tally }
            return total
        }
    }

    func post(_ events: [Event], token: String) async -> SimulationTally {
        var pending = events
        var tally = SimulationTally()
        var delay = Duration.milliseconds(200)
        var lastError = "no response"
        for _ in 0..<6 {
            var request = HTTPClientRequest(url: url + "/v1/events")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/cloudevents-batch+json")
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.body = .bytes(ByteBuffer(bytes: EventRecord.structuredBatch(pending)))
            do {
                let response = try await client.execute(request, timeout: .seconds(30))
                let body = ResponseBody(String(buffer: try await response.body.collect(upTo: 4 << 20)))
                switch response.status.code {
                case 202:
                    tally.accepted += pending.count
                    return tally
                case 207:
                    return tally + body.results(of: pending).tally
                case 503:
                    // Kafka did not acknowledge some events in time: send those again.
                    let outcome = body.results(of: pending)
                    tally = tally + outcome.tally
                    pending = outcome.notStored
                    if pending.isEmpty { return tally }
                    lastError = "HTTP 503: \(body.detail)"
                case 502, 504:
                    lastError = "HTTP \(response.status.code)"
                default:
                    tally.rejected += pending.count
                    tally.reasons.append("HTTP \(response.status.code): \(body.detail)")
                    return tally
                }
            } catch {
                lastError = "\(error)"
            }
            if stop.isSet { break }
            try? await Task.sleep(for: delay)
            delay *= 2
        }
        tally.failed += pending.count
        tally.reasons.append("gave up after retries: \(lastError)")
        return tally
    }

    /// An ingest response body, parsed once.
    struct ResponseBody {
        let text: String
        let object: [String: Any]?

        init(_ text: String) {
            self.text = text
            object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        }

        /// The problem's `detail`, or the start of the body.
        var detail: String { (object?["detail"] as? String) ?? String(text.prefix(200)) }

        /// Counts the per-event results of a `207` or `503` body; returns the
        /// events Kafka did not store (all of them when the body has no results).
        func results(of events: [Event]) -> (tally: SimulationTally, notStored: [Event]) {
            guard let results = object?["results"] as? [[String: Any]] else { return (SimulationTally(), events) }
            var tally = SimulationTally()
            var notStored: [Event] = []
            for result in results {
                let index = result["index"] as? Int ?? -1
                switch result["status"] as? String {
                case "accepted":
                    tally.accepted += 1
                case "not-stored" where events.indices.contains(index):
                    notStored.append(events[index])
                default:
                    tally.rejected += 1
                    if tally.reasons.count < 3 { tally.reasons.append((result["reason"] as? String) ?? "rejected") }
                }
            }
            return (tally, notStored)
        }
    }

    func close() async {
        await revoke()
        try? await client.shutdown()
    }
}

/// Straight to Kafka with the idempotent producer, in binary content mode, as the
/// ingest service writes them.
struct KafkaSink: SimulationSink {
    let producer: KafkaProducer

    func send(_ events: [Event]) async -> SimulationTally {
        let records = events.map { event in
            KafkaProducerRecord(
                topic: event.type.topic.name, key: EventRecord.key(for: event), value: EventRecord.value(for: event),
                headers: EventRecord.headers(for: event, as: KafkaHeader.self)
            )
        }
        var tally = SimulationTally()
        for result in await producer.send(records, timeout: .seconds(60)) {
            switch result {
            case .success: tally.accepted += 1
            case .failure(let error):
                tally.failed += 1
                if tally.reasons.count < 3 { tally.reasons.append("\(error)") }
            }
        }
        return tally
    }

    func close() async { await producer.shutdown() }
}
