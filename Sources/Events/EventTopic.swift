/// The Kafka topics of the event contract (DESIGN §3), with the partition counts a
/// fresh cluster gets.
public enum EventTopic: String, Sendable, CaseIterable {
    /// Device events, keyed by deviceId.
    case deviceEvents = "iomt.device-events.v1"
    /// Care events from clinical systems, keyed by patientId.
    case careEvents = "iomt.care-events.v1"
    /// Alert snapshots (compaction-friendly changelog), keyed by alertId.
    case alerts = "iomt.alerts.v1"
    /// Records a consumer could not process, keyed by the original key.
    case deadLetter = "iomt.dead-letter.v1"

    /// The topic name.
    public var name: String { rawValue }

    /// Partitions created by the dev broker and the compose topic job. Partitions
    /// bound a consumer group's parallelism: production should size them for the
    /// largest expected worker count.
    public var defaultPartitions: Int {
        switch self {
        case .deviceEvents: 12
        case .careEvents: 6
        case .alerts: 6
        case .deadLetter: 3
        }
    }
}
