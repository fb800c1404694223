/// The typed `data` of an event; the case names its type.
///
/// Cases whose data is larger than a vitals observation are `indirect` (kept in a
/// box of their own): an enum is as large as its largest case, and workers hold and
/// move tens of thousands of events per batch, so the common events stay small
/// (an event took 272 bytes inline before, 128 after).
public enum EventPayload: Sendable, Equatable {
    /// `iomt.device.registered.v1`
    indirect case deviceRegistered(DeviceRegistered)
    /// `iomt.vitals.observed.v1`
    case vitalsObserved(VitalsObserved)
    /// `iomt.device.heartbeat.v1`
    indirect case deviceHeartbeat(DeviceHeartbeat)
    /// `iomt.device.location.v1`
    indirect case deviceLocation(DeviceLocation)
    /// `iomt.device.status.v1`
    case deviceStatus(DeviceStatusChanged)
    /// `iomt.device.assigned.v1`
    case deviceAssigned(DeviceAssignment)
    /// `iomt.device.unassigned.v1`
    case deviceUnassigned(DeviceAssignment)
    /// `iomt.device.alarm.v1`
    indirect case deviceAlarm(DeviceAlarm)
    /// `iomt.patient.admitted.v1`
    indirect case patientAdmitted(PatientAdmission)
    /// `iomt.patient.transferred.v1`
    indirect case patientTransferred(PatientAdmission)
    /// `iomt.patient.discharged.v1`
    case patientDischarged(PatientDischarged)
    /// `iomt.patient.assessed.v1`
    case patientAssessed(PatientAssessed)
    /// `iomt.alert.acknowledged.v1`
    case alertAcknowledged(AlertAcknowledged)
    /// `iomt.alert.changed.v1`
    indirect case alertChanged(AlertChanged)

    /// The event type this payload belongs to.
    public var type: EventType {
        switch self {
        case .deviceRegistered: .deviceRegistered
        case .vitalsObserved: .vitalsObserved
        case .deviceHeartbeat: .deviceHeartbeat
        case .deviceLocation: .deviceLocation
        case .deviceStatus: .deviceStatus
        case .deviceAssigned: .deviceAssigned
        case .deviceUnassigned: .deviceUnassigned
        case .deviceAlarm: .deviceAlarm
        case .patientAdmitted: .patientAdmitted
        case .patientTransferred: .patientTransferred
        case .patientDischarged: .patientDischarged
        case .patientAssessed: .patientAssessed
        case .alertAcknowledged: .alertAcknowledged
        case .alertChanged: .alertChanged
        }
    }

    /// The payload as its ``EventData`` value.
    public var data: any EventData {
        switch self {
        case .deviceRegistered(let data): data
        case .vitalsObserved(let data): data
        case .deviceHeartbeat(let data): data
        case .deviceLocation(let data): data
        case .deviceStatus(let data): data
        case .deviceAssigned(let data), .deviceUnassigned(let data): data
        case .deviceAlarm(let data): data
        case .patientAdmitted(let data), .patientTransferred(let data): data
        case .patientDischarged(let data): data
        case .patientAssessed(let data): data
        case .alertAcknowledged(let data): data
        case .alertChanged(let data): data
        }
    }

    /// The Kafka record key: deviceId, patientId or alertId.
    public var partitionKey: String { data.partitionKey }

    /// The deviceId of a device event, if this is one.
    public var deviceId: String? {
        switch self {
        case .deviceRegistered(let data): data.deviceId
        case .vitalsObserved(let data): data.deviceId
        case .deviceHeartbeat(let data): data.deviceId
        case .deviceLocation(let data): data.deviceId
        case .deviceStatus(let data): data.deviceId
        case .deviceAssigned(let data), .deviceUnassigned(let data): data.deviceId
        case .deviceAlarm(let data): data.deviceId
        default: nil
        }
    }

    /// Decodes and validates `data` of the given type. Error paths are relative
    /// to `data`.
    public static func decode(_ type: EventType, _ value: JSONValue) throws(EventValidationError) -> EventPayload {
        switch type {
        case .deviceRegistered: .deviceRegistered(try DeviceRegistered.decode(value))
        case .vitalsObserved: .vitalsObserved(try VitalsObserved.decode(value))
        case .deviceHeartbeat: .deviceHeartbeat(try DeviceHeartbeat.decode(value))
        case .deviceLocation: .deviceLocation(try DeviceLocation.decode(value))
        case .deviceStatus: .deviceStatus(try DeviceStatusChanged.decode(value))
        case .deviceAssigned: .deviceAssigned(try DeviceAssignment.decode(value))
        case .deviceUnassigned: .deviceUnassigned(try DeviceAssignment.decode(value))
        case .deviceAlarm: .deviceAlarm(try DeviceAlarm.decode(value))
        case .patientAdmitted: .patientAdmitted(try PatientAdmission.decode(value))
        case .patientTransferred: .patientTransferred(try PatientAdmission.decode(value))
        case .patientDischarged: .patientDischarged(try PatientDischarged.decode(value))
        case .patientAssessed: .patientAssessed(try PatientAssessed.decode(value))
        case .alertAcknowledged: .alertAcknowledged(try AlertAcknowledged.decode(value))
        case .alertChanged: .alertChanged(try AlertChanged.decode(value))
        }
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        data.encode(into: &writer)
    }
}
