import Events
import Foundation
import Kafka
import Logging
import PostgresNIO
import ServiceLifecycle
import ServiceSupport

/// Relays alert changes from `alerts.changes` to `iomt.alerts.v1` as
/// `iomt.alert.changed.v1` (CloudEvents binary mode, key = alertId).
///
/// What is left to relay is every change after `alerts.relay_position`: appends
/// take a lock held until they commit (`AlertsStore.appendLockKey`), so changes
/// become visible in sequence order and none can appear behind the position
/// later (the sequence number is taken inside each insert). Crash-safe: the
/// position moves only after Kafka acknowledged every change up to it, so a
/// crash repeats changes but never loses one. The event id is
/// `<alertId>-v<version>`, so a repeated change carries the same id and version
/// and consumers drop it. Per alert, versions go out in order: one relay
/// runs at a time (a PostgreSQL session advisory lock elects it among the
/// workers), rows go in sequence order, and a subject's changes commit in
/// version order.
public struct OutboxRelay: Service {
    static let lockKey: Int64 = 0x696F_6D74_7265_6C61  // "iomtrela"

    let database: DatabaseSettings
    let kafka: KafkaSettings
    let logger: Logger
    /// How often an idle relay looks for changes. Default 50 ms.
    var idleInterval: Duration = .milliseconds(50)

    /// Creates the relay.
    public init(database: DatabaseSettings, kafka: KafkaSettings, logger: Logger) {
        self.database = database
        self.kafka = kafka
        self.logger = logger
    }

    /// Relays until shutdown, retrying after failures.
    public func run() async throws {
        let producer = try KafkaProducer(configuration: kafka.producerConfiguration(clientID: "iomt-alerts-relay"), logger: logger)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await relayWhileLeader(producer)
                } catch {
                    if Task.isCancelled { break }
                    // The error's type only (a PostgreSQL error can quote row
                    // values); this one's text names no patient data.
                    let text = error is RelayPositionMissing ? "\(error)" : String(describing: type(of: error))
                    logger.warning("alert relay interrupted; retrying", metadata: ["error": "\(text)"])
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        await producer.shutdown()
    }

    /// Takes the relay lock on a connection of its own (closing the connection
    /// releases it), then relays until an error or cancellation.
    private func relayWhileLeader(_ producer: KafkaProducer) async throws {
        let connection = try await PostgresConnection.connect(configuration: database.connectionConfiguration(), id: 1, logger: logger)
        do {
            var leader = false
            for try await locked in try await connection.query("SELECT pg_try_advisory_lock(\(Self.lockKey))", logger: logger).decode(Bool.self) {
                leader = locked
            }
            if leader { try await requirePosition(connection) }
            while leader, !Task.isCancelled {
                let sent = try await relayOnce(connection, producer: producer)
                if sent == 0 { try await Task.sleep(for: idleInterval) }
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    /// Throws ``RelayPositionMissing`` unless `alerts.relay_position` has its row:
    /// without it the relay would find nothing to send, forever.
    func requirePosition(_ connection: PostgresConnection) async throws {
        for try await _ in try await connection.query("SELECT relayed_to FROM alerts.relay_position", logger: logger).decode(Int64.self) {
            return
        }
        throw RelayPositionMissing()
    }

    /// Sends the changes after the relay position, at most ``rowsPerRound``, and
    /// moves the position past them once Kafka acknowledged every one. Returns
    /// how many. A record's value is the stored snapshot as it is; its headers
    /// come from the row's columns (the snapshot is parsed only for rows written
    /// before `updated_at` existed). The rows are read by a range of the primary
    /// key, and only the leader writes the position, so neither statement needs
    /// a transaction around it.
    func relayOnce(_ connection: PostgresConnection, producer: KafkaProducer) async throws -> Int {
        var records: [KafkaProducerRecord] = []
        var last: Int64?
        let document = JSONDocument()
        for try await (seq, alertID, version, updatedAt, snapshot) in try await connection.query("""
            SELECT seq, alert_id, version, (extract(epoch FROM updated_at) * 1000000)::int8, snapshot
            FROM alerts.changes WHERE seq > (SELECT relayed_to FROM alerts.relay_position)
            ORDER BY seq LIMIT \(Self.rowsPerRound)
            """, logger: logger
        ).decode((Int64, String, Int32, Int64?, String).self) {
            let time = try updatedAt.map(EventTime.init(microseconds:))
                ?? document.parse(Array(snapshot.utf8)) { root in try AlertChanged.decode(root).updatedAt }
            records.append(KafkaProducerRecord(
                topic: EventTopic.alerts.name, key: Array(alertID.utf8), value: Array(snapshot.utf8),
                headers: EventRecord.headers(id: "\(alertID)-v\(version)", source: Self.source, type: .alertChanged, time: time, as: KafkaHeader.self)
            ))
            last = seq
        }
        guard let last else { return 0 }
        for result in await producer.send(records, timeout: .seconds(30)) { _ = try result.get() }
        try await connection.query("UPDATE alerts.relay_position SET relayed_to = greatest(relayed_to, \(last))", logger: logger)
        return records.count
    }

    /// Changes relayed per round.
    static let rowsPerRound = 500

    /// `ce_source` of every relayed change.
    static let source = "urn:iomt:alerts"
}

/// `alerts.relay_position` has no row (alerts migration 6 creates it; it was
/// deleted by hand): the relay stops and retries rather than idle silently.
struct RelayPositionMissing: Error, CustomStringConvertible {
    var description: String { "alerts.relay_position has no row: insert one (relayed_to = the last sequence number relayed)" }
}
