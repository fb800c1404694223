import Events
import Foundation

/// The alert rules (DOMAIN.md, "Default rules"), with every threshold, delay and
/// priority configurable from a JSON file (`ALERT_RULES_FILE`).
///
/// File format (every key optional; missing keys keep their defaults):
/// ```json
/// {"news2High": {"threshold": 7, "persistenceSeconds": 0, "hysteresisSeconds": 300, "enabled": true},
///  "news2Medium": {"threshold": 5, "persistenceSeconds": 60, "hysteresisSeconds": 300},
///  "news2SingleRed": {"persistenceSeconds": 30, "hysteresisSeconds": 300},
///  "deviceAlarm": {"windowSeconds": 300},
///  "deviceOffline": {"intervals": 3},
///  "batteryLow": {"lowPercent": 20, "mediumPercent": 10, "marginPercent": 5, "persistenceSeconds": 60},
///  "escalation": {"highSeconds": 120, "mediumSeconds": 600, "maxLevel": 3}}
/// ```
public struct AlertRules: Sendable, Equatable {
    /// Timing of a rule: how long a condition must hold before it opens an alert
    /// (persistence) and how long it must stay clear before the alert resolves
    /// (hysteresis).
    public struct Timing: Sendable, Equatable {
        /// Whether the rule runs.
        public var enabled = true
        /// Delay before opening.
        public var persistence: Duration
        /// Delay before resolving.
        public var hysteresis: Duration
    }

    /// `news2.high`: complete NEWS2 at or above `news2HighThreshold`; high priority.
    public var news2High = Timing(persistence: .zero, hysteresis: .seconds(300))
    /// Threshold of `news2.high`. Default 7.
    public var news2HighThreshold = 7
    /// `news2.medium`: complete NEWS2 from `news2MediumThreshold` up to the high
    /// threshold; medium priority.
    public var news2Medium = Timing(persistence: .seconds(60), hysteresis: .seconds(300))
    /// Threshold of `news2.medium`. Default 5.
    public var news2MediumThreshold = 5
    /// `news2.single-red`: any parameter scores 3; medium priority.
    public var news2SingleRed = Timing(persistence: .seconds(30), hysteresis: .seconds(300))
    /// `device.alarm`: the device raised an alarm within `alarmWindow`; priority as
    /// sent (the highest while open).
    public var deviceAlarm = Timing(persistence: .zero, hysteresis: .zero)
    /// How long an alarm keeps its condition true. Default 300 s.
    public var alarmWindow: Duration = .seconds(300)
    /// `device.offline`: no event from an active device for `offlineIntervals`
    /// heartbeat intervals; medium when assigned to a patient, else low.
    public var deviceOffline = Timing(persistence: .zero, hysteresis: .zero)
    /// Heartbeat intervals of silence before a device is offline. Default 3.
    public var offlineIntervals = 3
    /// `device.battery-low`: battery below `batteryLowPercent` (low), below
    /// `batteryMediumPercent` (medium); clears at `batteryLowPercent + batteryMarginPercent`.
    public var batteryLow = Timing(persistence: .seconds(60), hysteresis: .zero)
    /// Battery threshold for a low-priority alert. Default 20 %.
    public var batteryLowPercent = 20.0
    /// Battery threshold for a medium-priority alert. Default 10 %.
    public var batteryMediumPercent = 10.0
    /// Margin above the threshold before a battery alert clears. Default 5 %.
    public var batteryMarginPercent = 5.0
    /// An unacknowledged high-priority alert raises its escalation level after
    /// this long, and again each time it passes. Default 2 minutes.
    public var highEscalation: Duration = .seconds(120)
    /// As ``highEscalation`` for medium priority. Default 10 minutes.
    public var mediumEscalation: Duration = .seconds(600)
    /// The highest escalation level. Default 3 (an escalation chain such as
    /// nurse, charge nurse, rapid-response team): an alert left unacknowledged for
    /// hours — or first evaluated long after it opened, as after an outage — stops
    /// there instead of raising one level per timeout without end.
    public var maxEscalationLevel = 3

    /// The defaults of DOMAIN.md.
    public init() {}

    /// The escalation timeout of a priority (low priority does not escalate).
    public func escalation(for priority: AlarmPriority) -> Duration? {
        switch priority {
        case .high: highEscalation
        case .medium: mediumEscalation
        case .low: nil
        }
    }

    /// A rule-set error, naming the key.
    public struct FileError: Error, CustomStringConvertible {
        /// What is wrong.
        public var description: String
    }

    /// Reads a rules file over the defaults.
    public init(file: URL) throws {
        self.init()
        let bytes = try [UInt8](Data(contentsOf: file))
        try JSONDocument().parse(bytes) { root in
            guard root.kind == .object else { throw FileError(description: "\(file.path): the rules file must be a JSON object") }
            func seconds(_ object: JSONValue?, _ key: StaticString) throws -> Duration? {
                guard let value = object?[key] else { return nil }
                guard let number = value.number, number >= 0 else { throw FileError(description: "\(file.path): \(key) must be a number of seconds ≥ 0") }
                return .milliseconds(Int64(number * 1000))
            }
            func number(_ object: JSONValue?, _ key: StaticString) throws -> Double? {
                guard let value = object?[key] else { return nil }
                guard let number = value.number, number >= 0 else { throw FileError(description: "\(file.path): \(key) must be a number ≥ 0") }
                return number
            }
            func timing(_ name: StaticString, _ timing: inout Timing) throws -> JSONValue? {
                guard let object = root[name] else { return nil }
                if let enabled = object["enabled"] {
                    guard let flag = enabled.bool else { throw FileError(description: "\(file.path): \(name).enabled must be true or false") }
                    timing.enabled = flag
                }
                if let value = try seconds(object, "persistenceSeconds") { timing.persistence = value }
                if let value = try seconds(object, "hysteresisSeconds") { timing.hysteresis = value }
                return object
            }
            let high = try timing("news2High", &news2High)
            if let value = try number(high, "threshold") { news2HighThreshold = Int(value) }
            let medium = try timing("news2Medium", &news2Medium)
            if let value = try number(medium, "threshold") { news2MediumThreshold = Int(value) }
            _ = try timing("news2SingleRed", &news2SingleRed)
            let alarm = try timing("deviceAlarm", &deviceAlarm)
            if let value = try seconds(alarm, "windowSeconds") { alarmWindow = value }
            let offline = try timing("deviceOffline", &deviceOffline)
            if let value = try number(offline, "intervals") { offlineIntervals = max(1, Int(value)) }
            let battery = try timing("batteryLow", &batteryLow)
            if let value = try number(battery, "lowPercent") { batteryLowPercent = value }
            if let value = try number(battery, "mediumPercent") { batteryMediumPercent = value }
            if let value = try number(battery, "marginPercent") { batteryMarginPercent = value }
            let escalation = root["escalation"]
            if let value = try seconds(escalation, "highSeconds") { highEscalation = value }
            if let value = try seconds(escalation, "mediumSeconds") { mediumEscalation = value }
            if let value = try number(escalation, "maxLevel") { maxEscalationLevel = Int(value) }
        }
    }
}
