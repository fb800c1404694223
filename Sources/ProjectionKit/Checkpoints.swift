import Events
import Kafka
import Logging
import PostgresNIO
import ServiceSupport

/// `iomt_runtime.checkpoints`: the next offset to apply per projection and
/// partition, advanced in the same transaction as the projection's changes.
enum Checkpoints {
    static let migrations = MigrationSet(component: "runtime", migrations: [
        Migration(version: 1, name: "checkpoints", statements: [
            """
            CREATE TABLE iomt_runtime.checkpoints (
                projection text NOT NULL,
                topic text NOT NULL,
                partition integer NOT NULL,
                next_offset bigint NOT NULL,
                last_event_time timestamptz,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (projection, topic, partition)
            )
            """,
        ]),
    ])

    /// Loads the checkpoints of `partitions`; a partition without one gets a row
    /// starting at `initial(partition)` (the low watermark).
    static func load(
        projection: String,
        partitions: [KafkaTopicPartition],
        initial: (KafkaTopicPartition) async throws -> Int64,
        client: PostgresClient,
        logger: Logger
    ) async throws -> [KafkaTopicPartition: Int64] {
        var offsets = try await read(projection: projection, partitions: partitions, client: client, logger: logger)
        for partition in partitions where offsets[partition] == nil {
            let start = try await initial(partition)
            try await client.query("""
                INSERT INTO iomt_runtime.checkpoints (projection, topic, partition, next_offset)
                VALUES (\(projection), \(partition.topic), \(Int(partition.partition)), \(start))
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
        if offsets.count < partitions.count {
            offsets = try await read(projection: projection, partitions: partitions, client: client, logger: logger)
        }
        return offsets
    }

    static func read(projection: String, partitions: [KafkaTopicPartition], client: PostgresClient, logger: Logger) async throws -> [KafkaTopicPartition: Int64] {
        let topics = partitions.map(\.topic)
        let numbers = partitions.map { Int($0.partition) }
        var offsets: [KafkaTopicPartition: Int64] = [:]
        let rows = try await client.query("""
            SELECT c.topic, c.partition, c.next_offset FROM iomt_runtime.checkpoints c
            JOIN unnest(\(topics)::text[], \(numbers)::int[]) AS p(topic, partition) ON p.topic = c.topic AND p.partition = c.partition
            WHERE c.projection = \(projection)
            """, logger: logger)
        for try await (topic, partition, offset) in rows.decode((String, Int, Int64).self) {
            offsets[KafkaTopicPartition(topic: topic, partition: Int32(partition))] = offset
        }
        return offsets
    }

    /// Moves the checkpoints of a batch forward, each only from the offset the
    /// batch started at. Returns the partitions whose checkpoint had moved (another
    /// worker owns them now): the caller must roll back.
    static func advance(
        projection: String,
        ranges: [KafkaTopicPartition: (from: Int64, to: Int64, lastEventTime: EventTime?)],
        connection: PostgresConnection,
        logger: Logger
    ) async throws -> [KafkaTopicPartition] {
        let keys = ranges.keys.sorted()
        let topics = keys.map(\.topic)
        let numbers = keys.map { Int($0.partition) }
        let from = keys.map { ranges[$0]!.from }
        let to = keys.map { ranges[$0]!.to }
        let times = keys.map { ranges[$0]!.lastEventTime?.microseconds ?? Int64.min }
        var advanced = Set<KafkaTopicPartition>()
        let rows = try await connection.query("""
            UPDATE iomt_runtime.checkpoints c
            SET next_offset = u.next_offset,
                last_event_time = CASE WHEN u.micros = \(Int64.min) THEN c.last_event_time
                                       ELSE greatest(c.last_event_time, to_timestamp(u.micros / 1000000.0)) END,
                updated_at = now()
            FROM unnest(\(topics)::text[], \(numbers)::int[], \(from)::bigint[], \(to)::bigint[], \(times)::bigint[])
                 AS u(topic, partition, expected, next_offset, micros)
            WHERE c.projection = \(projection) AND c.topic = u.topic AND c.partition = u.partition AND c.next_offset = u.expected
            RETURNING c.topic, c.partition
            """, logger: logger)
        for try await (topic, partition) in rows.decode((String, Int).self) {
            advanced.insert(KafkaTopicPartition(topic: topic, partition: Int32(partition)))
        }
        return keys.filter { !advanced.contains($0) }
    }

    /// Deletes every checkpoint of a projection (rebuild).
    static func reset(projection: String, connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("DELETE FROM iomt_runtime.checkpoints WHERE projection = \(projection)", logger: logger)
    }
}
