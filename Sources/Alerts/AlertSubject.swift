import AssetInventory
import Clinical
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

/// Where each rule stands for one subject, by rule: a slot per rule rather than
/// a dictionary, since every rule's track is read and written on every event.
public struct RuleTracks: Sendable, Equatable, Sequence {
    private var slots: [RuleTrack?] = []

    /// No rule has a track.
    public init() {}

    /// The track of `rule`, if it has one.
    public subscript(rule: AlertRule) -> RuleTrack? {
        get { slots.indices.contains(rule.ordinal) ? slots[rule.ordinal] : nil }
        set {
            if slots.isEmpty {
                guard newValue != nil else { return }
                slots = Array(repeating: nil, count: AlertRule.allCases.count)
            }
            slots[rule.ordinal] = newValue
        }
    }

    /// True when no rule has a track.
    public var isEmpty: Bool { slots.allSatisfy { $0 == nil } }

    /// The rules with a track and their tracks, in case order.
    public func makeIterator() -> some IteratorProtocol<(key: AlertRule, value: RuleTrack)> {
        zip(AlertRule.allCases, slots).lazy.compactMap { rule, track in track.map { (key: rule, value: $0) } }.makeIterator()
    }

    /// The same tracks.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        AlertRule.allCases.allSatisfy { lhs[$0] == rhs[$0] }
    }
}

/// A patient or device as the alerts worker sees it: the minimal state its rules
/// need (kept in the alerts schema; no other projection's tables are read) and
/// where each rule stands.
///
/// A value type whose state sits in one shared, copy-on-write box: a batch copies
/// its subjects several times (out of the cache, into the table it changes, back
/// into the cache, into the statements), and a subject's state is about 850 bytes
/// holding some twenty references, so an inline copy meant moving those bytes and
/// retaining every reference. Now a copy is a key and one reference, and a change
/// copies the box only while another copy shares it.
public struct AlertSubject: Sendable, Equatable {
    /// `patient:<id>` or `device:<id>`.
    public var key: String
    private var storage: Storage

    private final class Storage: @unchecked Sendable {
        // @unchecked: changed only through `AlertSubject`'s accessors, and only
        // while uniquely referenced (copy on write). For the same reason the
        // fields are not checked for exclusive access at run time: an access
        // goes through the subject, whose own accesses the compiler checks, and
        // the run-time check cost a call per field read (about 8 % of the rule
        // evaluation).
        @exclusivity(unchecked) var patient: PatientRecord?
        @exclusivity(unchecked) var device: DeviceRecord?
        @exclusivity(unchecked) var lastAlarm: Stamped<DeviceAlarm>?
        @exclusivity(unchecked) var tracks = RuleTracks()
        @exclusivity(unchecked) var clock: EventTime?

        init() {}

        init(copying other: Storage) {
            patient = other.patient
            device = other.device
            lastAlarm = other.lastAlarm
            tracks = other.tracks
            clock = other.clock
        }
    }

    /// The box, made unique first (copy on write).
    private var unique: Storage {
        mutating get {
            if !isKnownUniquelyReferenced(&storage) { storage = Storage(copying: storage) }
            return storage
        }
    }

    /// NEWS2 inputs, admission and facility (patients).
    public var patient: PatientRecord? {
        _read { yield storage.patient }
        _modify { yield &unique.patient }
    }
    /// Last seen, heartbeat interval, battery, status, assignment (devices).
    public var device: DeviceRecord? {
        _read { yield storage.device }
        _modify { yield &unique.device }
    }
    // Read in place from the box: through the accessors above, or passed to a
    // function such as `!=`, a record was copied out whole (every field retained
    // and released) for each rule on every event.

    /// Whether ``patient`` is set.
    var hasPatientRecord: Bool {
        if case .none = storage.patient { return false }
        return true
    }
    /// Whether ``device`` is set.
    var hasDeviceRecord: Bool {
        if case .none = storage.device { return false }
        return true
    }
    /// Whether the patient was discharged.
    var isDischarged: Bool { storage.patient?.status?.value == .discharged }
    /// What the rules read of the patient's NEWS2, if a patient.
    var news2: NEWS2Summary? { storage.patient?.news2Summary }
    /// The patient's id, if a patient.
    var patientID: String? { storage.patient?.patientId }
    /// The device's id, if a device.
    var deviceID: String? { storage.device?.deviceId }
    /// The newest alarm (devices).
    public var lastAlarm: Stamped<DeviceAlarm>? {
        _read { yield storage.lastAlarm }
        _modify { yield &unique.lastAlarm }
    }
    /// Rule state.
    public var tracks: RuleTracks {
        _read { yield storage.tracks }
        _modify { yield &unique.tracks }
    }
    /// The newest time the rules were evaluated at.
    public var clock: EventTime? {
        _read { yield storage.clock }
        _modify { yield &unique.clock }
    }

    /// The key of a patient subject.
    public static func patientKey(_ id: String) -> String { "patient:" + id }
    /// The key of a device subject.
    public static func deviceKey(_ id: String) -> String { "device:" + id }

    /// An empty subject for `key`.
    public init(key: String) {
        self.key = key
        storage = Storage()
        if key.hasPrefix("patient:") { storage.patient = PatientRecord(patientId: String(key.dropFirst(8))) }
        if key.hasPrefix("device:") { storage.device = DeviceRecord(deviceId: String(key.dropFirst(7))) }
    }

    /// The same key and state.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.key == rhs.key && (lhs.storage === rhs.storage || (
            lhs.patient == rhs.patient && lhs.device == rhs.device && lhs.lastAlarm == rhs.lastAlarm
                && lhs.tracks == rhs.tracks && lhs.clock == rhs.clock
        ))
    }

    /// The rules that apply to this subject.
    public var rules: [AlertRule] { hasPatientRecord ? AlertRule.patientRules : AlertRule.deviceRules }

    /// The facility, for scoping alerts.
    public var facilityId: String? { storage.patient?.location?.value.facilityId ?? storage.device?.facilityId }
}
