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
/// The queue is `alerts.outbox`: the sequence numbers of changes not relayed
/// yet. Crash-safe: a change leaves the queue in a transaction that commits only
/// after Kafka acknowledged it, so a crash repeats changes but never loses one. The event id is
/// `<alertId>-v<version>`, so a repeated change carries the same id and version
/// and consumers drop it. Per alert, versions go out in order: one relay runs at a
/// time (a PostgreSQL session advisory lock elects it among the workers), rows go
/// in sequence order, and a subject's changes commit in version order.
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
                    logger.warning("alert relay interrupted; retrying", metadata: ["error": "\(String(describing: type(of: error)))"])
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

    /// Sends the oldest queued changes and takes them off the queue. Returns how
    /// many. A record's value is the stored snapshot as it is; its headers come
    /// from the row's columns (the snapshot is parsed only for rows written before
    /// `updated_at` existed).
    ///
    /// One statement takes the rows off the queue and returns the changes, in a
    /// transaction that commits only once Kafka acknowledged every record (and
    /// rolls back otherwise). The oldest rows are found as an array, so both the
    /// delete and the join go through the primary keys: as `seq IN (SELECT …)`
    /// PostgreSQL planned a hash join over every queued row in each round (12 ms
    /// against 2 ms per 500 rows with 60,000 queued, in `EXPLAIN ANALYZE`).
    func relayOnce(_ connection: PostgresConnection, producer: KafkaProducer) async throws -> Int {
        try await connection.query("BEGIN", logger: logger)
        do {
            var rows: [(seq: Int64, record: KafkaProducerRecord)] = []
            let document = JSONDocument()
            for try await (seq, alertID, version, updatedAt, snapshot) in try await connection.query("""
                WITH taken AS (
                    DELETE FROM alerts.outbox
                    WHERE seq = ANY(ARRAY(SELECT seq FROM alerts.outbox ORDER BY seq LIMIT \(Self.rowsPerRound)))
                    RETURNING seq
                )
                SELECT c.seq, c.alert_id, c.version, (extract(epoch FROM c.updated_at) * 1000000)::int8, c.snapshot::text
                FROM taken JOIN alerts.changes AS c USING (seq)
                """, logger: logger
            ).decode((Int64, String, Int32, Int64?, String).self) {
                let time = try updatedAt.map(EventTime.init(microseconds:))
                    ?? document.parse(Array(snapshot.utf8)) { root in try AlertChanged.decode(root).updatedAt }
                rows.append((seq, KafkaProducerRecord(
                    topic: EventTopic.alerts.name, key: Array(alertID.utf8), value: Array(snapshot.utf8),
                    headers: EventRecord.headers(id: "\(alertID)-v\(version)", source: Self.source, type: .alertChanged, time: time, as: KafkaHeader.self)
                )))
            }
            // The join follows no order: sequence order is version order per alert.
            rows.sort { $0.seq < $1.seq }
            if !rows.isEmpty {
                for result in await producer.send(rows.map(\.record), timeout: .seconds(30)) { _ = try result.get() }
            }
            try await connection.query("COMMIT", logger: logger)
            return rows.count
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Changes relayed per round.
    static let rowsPerRound = 500

    /// `ce_source` of every relayed change.
    static let source = "urn:iomt:alerts"
}
