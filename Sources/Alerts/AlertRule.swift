/// The rules that raise alerts; the raw value names the rule in alerts and APIs.
public enum AlertRule: String, Sendable, CaseIterable, Hashable, Comparable {
    /// Complete NEWS2 ≥ 7.
    case news2High = "news2.high"
    /// Complete NEWS2 5–6.
    case news2Medium = "news2.medium"
    /// Any NEWS2 parameter scores 3.
    case news2SingleRed = "news2.single-red"
    /// The device raised an alarm.
    case deviceAlarm = "device.alarm"
    /// No event from an active device for several heartbeat intervals.
    case deviceOffline = "device.offline"
    /// Battery low.
    case batteryLow = "device.battery-low"

    /// Hashes the case, not its raw value: rules key each subject's tracks, which
    /// are read and written for every rule on every event.
    public func hash(into hasher: inout Hasher) { hasher.combine(ordinal) }

    /// The same case.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.ordinal == rhs.ordinal }

    /// The case's position in ``allCases``.
    var ordinal: Int {
        switch self {
        case .news2High: 0
        case .news2Medium: 1
        case .news2SingleRed: 2
        case .deviceAlarm: 3
        case .deviceOffline: 4
        case .batteryLow: 5
        }
    }

    /// Orders by raw value.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Rules evaluated for patients.
    public static let patientRules: [AlertRule] = [.news2High, .news2Medium, .news2SingleRed]
    /// Rules evaluated for devices.
    public static let deviceRules: [AlertRule] = [.deviceAlarm, .deviceOffline, .batteryLow]
}
