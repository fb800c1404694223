import Events
import ProjectionKit

/// What a device said about itself when it registered.
public struct DeviceRegistration: Sendable, Equatable {
    /// Kind, e.g. `infusion-pump`.
    public var kind: String
    /// Model.
    public var model: String
    /// Manufacturer.
    public var manufacturer: String
    /// Serial number.
    public var serialNumber: String
    /// Owning facility.
    public var facilityId: String
    /// Medical or consumer grade.
    public var grade: DeviceGrade
    /// Expected heartbeat interval, when given.
    public var heartbeatIntervalSeconds: Int?
}

/// Where a device is.
public struct DevicePlacement: Sendable, Equatable {
    /// Facility.
    public var facilityId: String
    /// Unit, room, bed and RTLS zone, as reported.
    public var unit: String?, room: String?, bed: String?, zone: String?
}

/// A device's operational status and the reason given.
public struct DeviceCondition: Sendable, Equatable {
    /// Status.
    public var status: DeviceStatus
    /// Reason, if any.
    public var reason: String?
}

/// One device's projected state (DESIGN §5). Every field keeps the newest value by
/// event time; a device that sends events before registering appears with what is
/// known.
public struct DeviceRecord: Sendable, Equatable {
    /// Heartbeat interval assumed when a device did not declare one.
    public static let defaultHeartbeatIntervalSeconds = 60

    /// The device.
    public var deviceId: String
    /// Registration details.
    public var registration: Stamped<DeviceRegistration>?
    /// Newest location.
    public var placement: Stamped<DevicePlacement>?
    /// Newest status.
    public var condition: Stamped<DeviceCondition>?
    /// Newest battery charge.
    public var battery: Stamped<Double>?
    /// Newest signal strength.
    public var signal: Stamped<Double>?
    /// Newest firmware, from registration or heartbeat.
    public var firmware: Stamped<String>?
    /// Current patient (nil after unassignment).
    public var assignment: Stamped<String?>?
    /// Newest event time of any of the device's events.
    public var lastSeenAt: EventTime?
    /// Events applied.
    public var eventsApplied = 0

    /// A device with no state yet.
    public init(deviceId: String) {
        self.deviceId = deviceId
    }

    /// The facility: from the newest location, else from registration.
    public var facilityId: String? { placement?.value.facilityId ?? registration?.value.facilityId }

    /// The expected heartbeat interval in seconds.
    public var heartbeatIntervalSeconds: Int {
        registration?.value.heartbeatIntervalSeconds ?? Self.defaultHeartbeatIntervalSeconds
    }

    /// Online when an event was seen within three heartbeat intervals of `now`.
    public func isOnline(at now: EventTime) -> Bool {
        guard let lastSeenAt else { return false }
        return now.microseconds - lastSeenAt.microseconds <= Int64(3 * heartbeatIntervalSeconds) * 1_000_000
    }

    /// Applies one of the device's events.
    public mutating func apply(_ event: Event) {
        func stamp<V>(_ value: V) -> Stamped<V> { Stamped(value, at: event.time, eventId: event.id) }
        switch event.payload {
        case .deviceRegistered(let data):
            registration.keepNewer(stamp(DeviceRegistration(
                kind: data.kind, model: data.model, manufacturer: data.manufacturer, serialNumber: data.serialNumber,
                facilityId: data.facilityId, grade: data.grade, heartbeatIntervalSeconds: data.heartbeatIntervalSeconds
            )))
            if let version = data.firmware { firmware.keepNewer(stamp(version)) }
        case .deviceHeartbeat(let data):
            if let percent = data.batteryPercent { battery.keepNewer(stamp(percent)) }
            if let dbm = data.signalDbm { signal.keepNewer(stamp(dbm)) }
            if let version = data.firmware { firmware.keepNewer(stamp(version)) }
        case .deviceLocation(let data):
            placement.keepNewer(stamp(DevicePlacement(facilityId: data.facilityId, unit: data.unit, room: data.room, bed: data.bed, zone: data.zone)))
        case .deviceStatus(let data):
            condition.keepNewer(stamp(DeviceCondition(status: data.status, reason: data.reason)))
        case .deviceAssigned(let data):
            assignment.keepNewer(stamp(Optional(data.patientId)))
        case .deviceUnassigned(let data):
            // Only clears the patient it names.
            if let current = assignment?.value, current != data.patientId { break }
            assignment.keepNewer(stamp(String?.none))
        default:
            break  // vitals and alarms only show the device is alive
        }
        lastSeenAt = max(lastSeenAt ?? event.time, event.time)
        eventsApplied += 1
    }
}
