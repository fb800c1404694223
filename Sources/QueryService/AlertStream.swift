import Events
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import ServiceSupport
import Synchronization

/// Alert changes as they happen, announced on PostgreSQL's `LISTEN iomt_alerts`
/// and read from `alerts.changes`, fanned out to the open `/v1/alerts/stream`
/// connections.
///
/// One dedicated connection listens and reads, reconnecting with backoff when
/// it drops; after a reconnect it first publishes what was appended after the
/// last change it published.
///
/// A client that reconnects with `Last-Event-ID` first gets the changes after that
/// id from `alerts.changes`, then the live ones, without duplicates.
final class AlertStream: Service, Sendable {
    struct Change: Sendable {
        let sequence: Int64
        let alert: AlertChanged
    }

    private let database: DatabaseSettings
    private let logger: Logger
    /// Open streams; `nil` elements are keep-alive ticks.
    private let subscribers = Mutex<[UUID: AsyncStream<Change?>.Continuation]>([:])
    /// The highest sequence number published (where a reconnect reads on from).
    private let lastPublished = Mutex<Int64?>(nil)
    let listening = OnceFlag()

    init(database: DatabaseSettings, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// Listens until shutdown.
    func run() async throws {
        await cancelWhenGracefulShutdown {
            var delay = Duration.milliseconds(200)
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(configuration: self.database.connectionConfiguration(), id: 2, logger: self.logger)
                    delay = .milliseconds(200)
                    do {
                        try await connection.listen(on: "iomt_alerts") { notifications in
                            self.listening.set()
                            // Changes committed while no connection listened.
                            try await self.catchUp(reading: connection)
                            for try await notification in notifications {
                                do {
                                    try await self.relay(notification.payload, reading: connection)
                                } catch where !connection.isClosed {
                                    // The next announcement, or a reconnect, reads on.
                                    self.logger.warning("alert stream could not read announced changes", metadata: ["error": "\(String(describing: type(of: error)))"])
                                }
                            }
                        }
                    } catch {
                        self.logger.warning("alert stream lost its connection; reconnecting")
                    }
                    try? await connection.close()
                } catch {
                    self.logger.warning("alert stream cannot connect; retrying")
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
            for continuation in self.subscribers.withLock({ $0.values }) { continuation.finish() }
        }
    }

    /// Publishes the changes a notification announces. A worker announces the
    /// range of sequence numbers each of its statements appended
    /// (`{"from":…,"to":…}`; a transaction may send several);
    /// the changes are read from `alerts.changes` on the listening connection, in
    /// order, and only while a stream is open. A range may hold changes of other
    /// transactions: those committed are published now and again with their own
    /// notification, and each stream drops the repeat by its id. Workers of
    /// earlier releases announce each change with its snapshot
    /// (`{"seq":…,"alert":{…}}`).
    private func relay(_ payload: String, reading connection: PostgresConnection) async throws {
        let document = JSONDocument()
        /// What a notification announces: a range of sequence numbers, or one change.
        enum Announcement { case range(Int64, Int64), change(Change) }
        func sequence(_ number: Double?) -> Int64? { number.flatMap { Int64(exactly: $0) }.flatMap { $0 >= 0 ? $0 : nil } }
        guard let announcement = try? document.parse(Array(payload.utf8), { root -> Announcement? in
            if let from = sequence(root["from"]?.number), let to = sequence(root["to"]?.number) {
                return from <= to && to - from <= Self.longestRange ? .range(from, to) : nil
            }
            guard let number = sequence(root["seq"]?.number), let alert = root["alert"] else { return nil }
            return .change(Change(sequence: number, alert: try AlertChanged.decode(alert)))
        }) else {
            logger.debug("alert stream: notification ignored (not an alert announcement)")
            return
        }
        switch announcement {
        case .change(let change):
            publish(change)
        case .range(let from, let to):
            guard subscribers.withLock({ !$0.isEmpty }) else { return }
            for change in try await stored(connection.query(
                "SELECT seq, snapshot::text FROM alerts.changes WHERE seq BETWEEN \(from) AND \(to) ORDER BY seq", logger: logger
            )) { publish(change) }
        }
    }

    /// The widest range of sequence numbers one notification may name (a
    /// statement appends at most 2,000 changes; ranges of other transactions'
    /// changes may fall inside it).
    static let longestRange: Int64 = 1_000_000

    /// After a reconnect, publishes what was appended after the last change
    /// published (up to 10,000 changes), while a stream is open.
    private func catchUp(reading connection: PostgresConnection) async throws {
        guard let last = lastPublished.withLock({ $0 }), subscribers.withLock({ !$0.isEmpty }) else { return }
        for change in try await stored(connection.query(Self.changes(after: last), logger: logger)) { publish(change) }
    }

    /// The changes stored after `sequence`, oldest first, at most 10,000 (a
    /// reconnecting listener, a client resuming with `Last-Event-ID`).
    static func changes(after sequence: Int64) -> PostgresQuery {
        "SELECT seq, snapshot::text FROM alerts.changes WHERE seq > \(sequence) ORDER BY seq LIMIT 10000"
    }

    /// The changes of stored rows (`seq`, `snapshot`), in order. A snapshot that
    /// does not parse is logged and skipped.
    private func stored(_ rows: PostgresRowSequence) async throws -> [Change] {
        let document = JSONDocument()
        var changes: [Change] = []
        for try await (sequence, snapshot) in rows.decode((Int64, String).self) {
            guard let alert = try? document.parse(Array(snapshot.utf8), { try AlertChanged.decode($0) }) else {
                logger.warning("alert stream skipped a change whose snapshot does not parse", metadata: ["seq": "\(sequence)"])
                continue
            }
            changes.append(Change(sequence: sequence, alert: alert))
        }
        return changes
    }

    private func publish(_ change: Change) {
        lastPublished.withLock { $0 = max($0 ?? change.sequence, change.sequence) }
        for continuation in subscribers.withLock({ Array($0.values) }) {
            continuation.yield(change)
        }
    }

    /// Live changes from now until the stream is dropped, with a `nil` keep-alive
    /// tick every 15 seconds.
    func subscribe() -> AsyncStream<Change?> {
        let (stream, continuation) = AsyncStream<Change?>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let id = UUID()
        subscribers.withLock { $0[id] = continuation }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(15))
                continuation.yield(nil)
            }
        }
        continuation.onTermination = { [weak self] _ in
            ticker.cancel()
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        return stream
    }

    /// The `GET /v1/alerts/stream` response.
    func response(request: Request, context: QueryRequestContext, client: PostgresClient, audit: AuditTrail) async throws -> Response {
        let identity = try context.caller
        try Scope.require(identity, .clinician)
        let scope = Scope(identity: identity)
        var resumeAfter: Int64?
        if let header = request.headers[HTTPField.Name("Last-Event-ID")!] {
            guard let value = Int64(header), value >= 0, header.count <= 18 else {
                throw ProblemDetails.badRequest("Last-Event-ID: must be the id of an event of this stream")
            }
            resumeAfter = value
        }
        try await audit.record(identity, action: "stream-alerts", resource: "alerts/stream", patients: [], outcome: "ok", context: context)
        let live = subscribe()
        // Replay from history first (the live subscription buffers meanwhile).
        let replay: [Change] = if let resumeAfter { try await stored(client.query(Self.changes(after: resumeAfter), logger: logger)) } else { [] }
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"]
        let body = ResponseBody { writer in
            var sent = Set(replay.map(\.sequence))
            func encode(_ change: Change) -> ByteBuffer? {
                guard scope.allows(facility: change.alert.facilityId) else { return nil }
                var json = JSONWriter(capacity: 512)
                ResourceJSON.alert(change.alert, redactPatient: false, into: &json)
                return ByteBuffer(string: "id: \(change.sequence)\nevent: alert\ndata: \(String(decoding: json.bytes, as: UTF8.self))\n\n")
            }
            try await writer.write(ByteBuffer(string: ": connected\n\n"))
            for change in replay {
                if let buffer = encode(change) { try await writer.write(buffer) }
            }
            for await item in live {
                guard let change = item else {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    continue
                }
                guard sent.insert(change.sequence).inserted else { continue }
                if sent.count > 100_000 { sent.removeAll() }
                if let buffer = encode(change) { try await writer.write(buffer) }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
