/// Every event type of the contract (DESIGN §3), with its topic and the field
/// that keys it.
public enum EventType: String, Sendable, CaseIterable, Hashable {
    /// A device joined the fleet.
    case deviceRegistered = "iomt.device.registered.v1"
    /// Vital-sign observations.
    case vitalsObserved = "iomt.vitals.observed.v1"
    /// A device is alive (battery, signal, firmware).
    case deviceHeartbeat = "iomt.device.heartbeat.v1"
    /// A device moved (RTLS).
    case deviceLocation = "iomt.device.location.v1"
    /// A device's operational status changed.
    case deviceStatus = "iomt.device.status.v1"
    /// A device was attached to a patient.
    case deviceAssigned = "iomt.device.assigned.v1"
    /// A device was detached from a patient.
    case deviceUnassigned = "iomt.device.unassigned.v1"
    /// A device raised an alarm.
    case deviceAlarm = "iomt.device.alarm.v1"
    /// A patient was admitted.
    case patientAdmitted = "iomt.patient.admitted.v1"
    /// A patient moved to another unit or bed.
    case patientTransferred = "iomt.patient.transferred.v1"
    /// A patient was discharged.
    case patientDischarged = "iomt.patient.discharged.v1"
    /// A clinician assessed a patient (consciousness, oxygen, SpO2 scale).
    case patientAssessed = "iomt.patient.assessed.v1"
    /// Someone acknowledged an alert.
    case alertAcknowledged = "iomt.alert.acknowledged.v1"
    /// An alert's full state after a change (produced by the alerts worker).
    case alertChanged = "iomt.alert.changed.v1"

    /// Where events of this type are written.
    public var topic: EventTopic {
        switch self {
        case .deviceRegistered, .vitalsObserved, .deviceHeartbeat, .deviceLocation, .deviceStatus,
             .deviceAssigned, .deviceUnassigned, .deviceAlarm:
            .deviceEvents
        case .patientAdmitted, .patientTransferred, .patientDischarged, .patientAssessed, .alertAcknowledged:
            .careEvents
        case .alertChanged:
            .alerts
        }
    }

    /// True for the types devices publish (keyed by deviceId).
    public var isDeviceEvent: Bool { topic == .deviceEvents }

    /// True for the types clinical systems publish on the care topic.
    public var isCareEvent: Bool { topic == .careEvents }

    /// Looks a type up by its raw bytes without allocating a string.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> EventType? {
        for (type, utf8) in utf8Values where utf8.count == bytes.count && utf8.elementsEqual(bytes) {
            return type
        }
        return nil
    }

    /// The raw value as UTF-8 bytes, shared by every record of this type.
    public var utf8: [UInt8] { Self.utf8Values[self]! }

    private static let utf8Values: [EventType: [UInt8]] = Dictionary(uniqueKeysWithValues: allCases.map { ($0, Array($0.rawValue.utf8)) })
}
