import AssetInventory
import Events
import PatientState
import ProjectionKit

/// Where a rule stands for one subject.
public struct RuleTrack: Sendable, Equatable {
    /// The condition holds since then, but the alert is not open yet (persistence).
    public var pendingSince: EventTime?
    /// The condition cleared then, but the alert is not resolved yet (hysteresis).
    public var clearSince: EventTime?
    /// The open or acknowledged alert.
    public var alertId: String?
    /// The newest occurrence counted (alarms).
    public var lastOccurrence: EventTime?
    /// How many alerts this rule opened for the subject (part of each alert's id,
    /// so an alert reopened at the same time gets a new id).
    public var opened = 0

    /// A rule with nothing pending, having opened `opened` alerts.
    public init(opened: Int = 0) {
        self.opened = opened
    }

    var isEmpty: Bool { pendingSince == nil && clearSince == nil && alertId == nil && lastOccurrence == nil && opened == 0 }
}

/// A patient or device as the alerts worker sees it: the minimal state its rules
/// need (kept in the alerts schema; no other projection's tables are read) and
/// where each rule stands.
public struct AlertSubject: Sendable, Equatable {
    /// `patient:<id>` or `device:<id>`.
    public var key: String
    /// NEWS2 inputs, admission and facility (patients).
    public var patient: PatientRecord?
    /// Last seen, heartbeat interval, battery, status, assignment (devices).
    public var device: DeviceRecord?
    /// The newest alarm (devices).
    public var lastAlarm: Stamped<DeviceAlarm>?
    /// Rule state.
    public var tracks: [AlertRule: RuleTrack] = [:]
    /// The newest time the rules were evaluated at.
    public var clock: EventTime?

    /// The key of a patient subject.
    public static func patientKey(_ id: String) -> String { "patient:" + id }
    /// The key of a device subject.
    public static func deviceKey(_ id: String) -> String { "device:" + id }

    /// An empty subject for `key`.
    public init(key: String) {
        self.key = key
        if key.hasPrefix("patient:") { patient = PatientRecord(patientId: String(key.dropFirst(8))) }
        if key.hasPrefix("device:") { device = DeviceRecord(deviceId: String(key.dropFirst(7))) }
    }

    /// The rules that apply to this subject.
    public var rules: [AlertRule] { patient != nil ? AlertRule.patientRules : AlertRule.deviceRules }

    /// The facility, for scoping alerts.
    public var facilityId: String? { patient?.location?.value.facilityId ?? device?.facilityId }
}
