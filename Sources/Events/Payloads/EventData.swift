/// The `data` of one event type: decoded and validated from JSON, encoded back,
/// and keyed for Kafka.
public protocol EventData: Sendable, Equatable {
    /// Decodes and validates `data`. Errors carry paths relative to `data`.
    static func decode(_ value: JSONValue) throws(EventValidationError) -> Self
    /// Appends the JSON object.
    func encode(into writer: inout JSONWriter)
    /// The record key: deviceId, patientId or alertId.
    var partitionKey: String { get }
}

extension EventData {
    /// The JSON object as bytes.
    public var json: [UInt8] {
        var writer = JSONWriter()
        encode(into: &writer)
        return writer.bytes
    }
}

/// Medical devices and consumer wearables are treated differently by rules.
public enum DeviceGrade: String, Sendable, CaseIterable, Hashable {
    /// A regulated medical device.
    case medical
    /// A consumer-grade wearable.
    case consumer
}

/// A device's operational status.
public enum DeviceStatus: String, Sendable, CaseIterable, Hashable {
    /// Ready for use.
    case available
    /// In use with a patient.
    case inUse = "in-use"
    /// Out for maintenance.
    case maintenance
    /// Faulty.
    case fault
    /// Permanently out of service.
    case retired
}

/// Alarm and alert priority (IEC 60601-1-8).
public enum AlarmPriority: String, Sendable, CaseIterable, Hashable, Comparable {
    /// Immediate response required.
    case high
    /// Prompt response required.
    case medium
    /// Awareness.
    case low

    private var rank: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        }
    }

    /// Orders low < medium < high.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

/// Level of consciousness on the ACVPU scale, as assessed by a clinician.
public enum ConsciousnessLevel: String, Sendable, CaseIterable, Hashable {
    /// Alert.
    case alert = "A"
    /// New confusion.
    case confusion = "C"
    /// Responds to voice.
    case voice = "V"
    /// Responds to pain.
    case pain = "P"
    /// Unresponsive.
    case unresponsive = "U"
}
