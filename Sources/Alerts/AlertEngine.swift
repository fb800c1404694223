import AssetInventory
import Clinical
import Events
import PatientState
import ProjectionKit

/// The rule engine: pure, no I/O. Evaluates a subject's rules at a time and
/// returns the alert changes, each stamped with the time it became due (the end of
/// a persistence delay, an escalation timeout, a hysteresis period) rather than
/// the time it was noticed, so a restart or a rebuild reproduces the same alerts.
public struct AlertEngine: Sendable {
    /// The rules.
    public let rules: AlertRules

    /// The NEWS2 rules' messages by total, and the single-parameter rule's by the
    /// set of parameters scoring 3 (a bit per ``NEWS2Parameter`` case, in case
    /// order): a patient's rules are evaluated on every vitals event, and their
    /// messages depend on nothing else, so they are built once here.
    private let highMessages: [String]
    private let mediumMessages: [String]
    private let singleRedMessages: [String]

    /// An engine for `rules`.
    public init(rules: AlertRules) {
        self.rules = rules
        highMessages = (0...Self.maxNEWS2Total).map(Self.highMessage)
        mediumMessages = (0...Self.maxNEWS2Total).map(Self.mediumMessage)
        let parameters = NEWS2Parameter.allCases
        singleRedMessages = (0..<(1 << parameters.count)).map { mask in
            Self.singleRedMessage(parameters.indices.filter { mask & (1 << $0) != 0 }.map { parameters[$0] })
        }
    }

    /// The highest NEWS2 total (3 for each of six parameters, 2 for oxygen).
    static let maxNEWS2Total = 20

    static func highMessage(_ total: Int) -> String { "NEWS2 \(total): high clinical risk, emergency response" }
    static func mediumMessage(_ total: Int) -> String { "NEWS2 \(total): medium clinical risk, urgent response" }
    static func singleRedMessage(_ red: [NEWS2Parameter]) -> String { "NEWS2 parameter scoring 3: \(red.map(\.rawValue).joined(separator: ", "))" }

    private func message(_ table: [String], total: Int, _ build: (Int) -> String) -> String {
        table.indices.contains(total) ? table[total] : build(total)
    }

    /// What a rule's condition says at a time.
    struct Condition {
        enum State { case holds, cleared, unchanged }
        var state: State
        var priority: AlarmPriority = .low
        var message = ""
        /// When the state began, when known exactly (a device went silent at its
        /// last event plus the offline limit; an alarm's window ended), so a change
        /// noticed late by the clock is stamped with the time it happened.
        var since: EventTime?
    }

    func timing(_ rule: AlertRule) -> AlertRules.Timing {
        switch rule {
        case .news2High: rules.news2High
        case .news2Medium: rules.news2Medium
        case .news2SingleRed: rules.news2SingleRed
        case .deviceAlarm: rules.deviceAlarm
        case .deviceOffline: rules.deviceOffline
        case .batteryLow: rules.batteryLow
        }
    }

    /// `news2` is what the rules read of the patient's score
    /// (``NEWS2/summary(_:freshness:)``), computed once per evaluation for the
    /// three NEWS2 rules.
    func condition(_ rule: AlertRule, _ subject: AlertSubject, news2: NEWS2Summary?, at now: EventTime) -> Condition {
        switch rule {
        case .news2High, .news2Medium, .news2SingleRed:
            // Fields are read in place: a record is large, and copying it out
            // retains each of its references (three rules, every event).
            guard subject.hasPatientRecord, !subject.isDischarged, let score = news2 else { return Condition(state: .cleared) }
            switch rule {
            case .news2High:
                guard score.complete, score.total >= rules.news2HighThreshold else { return Condition(state: .cleared) }
                return Condition(state: .holds, priority: .high, message: message(highMessages, total: score.total, Self.highMessage))
            case .news2Medium:
                guard score.complete, score.total >= rules.news2MediumThreshold, score.total < rules.news2HighThreshold else { return Condition(state: .cleared) }
                return Condition(state: .holds, priority: .medium, message: message(mediumMessages, total: score.total, Self.mediumMessage))
            default:
                let red = Int(score.redParameters)
                guard red != 0 else { return Condition(state: .cleared) }
                return Condition(state: .holds, priority: .medium, message: singleRedMessages[red])
            }
        case .deviceAlarm:
            // Fields read in place: the alarm is copied only while it holds.
            guard let at = subject.lastAlarm?.at else { return Condition(state: .cleared) }
            guard now.microseconds - at.microseconds < rules.alarmWindow.microseconds else {
                return Condition(state: .cleared, since: at.adding(rules.alarmWindow))
            }
            guard let alarm = subject.lastAlarm?.value else { return Condition(state: .cleared) }
            return Condition(state: .holds, priority: alarm.priority, message: "\(alarm.code): \(alarm.message)")
        case .deviceOffline:
            guard let lastSeen = subject.device?.lastSeenAt, let heartbeat = subject.device?.heartbeatIntervalSeconds, isActive(subject) else {
                return Condition(state: .cleared)
            }
            let limit = Int64(rules.offlineIntervals * heartbeat) * 1_000_000
            guard now.microseconds - lastSeen.microseconds > limit else { return Condition(state: .cleared) }
            let assigned = (subject.device?.assignment?.value ?? nil) != nil
            return Condition(state: .holds, priority: assigned ? .medium : .low,
                             message: "no event for \(rules.offlineIntervals) heartbeat intervals (\(rules.offlineIntervals * heartbeat) s)",
                             since: lastSeen.adding(.microseconds(limit)))
        case .batteryLow:
            guard let battery = subject.device?.battery?.value else { return Condition(state: .cleared) }
            if battery < rules.batteryLowPercent {
                return Condition(state: .holds, priority: battery < rules.batteryMediumPercent ? .medium : .low,
                                 message: "battery \(FieldFormat.number(battery)) %")
            }
            return Condition(state: battery >= rules.batteryLowPercent + rules.batteryMarginPercent ? .cleared : .unchanged)
        }
    }

    /// False for a retired device or one in maintenance.
    func isActive(_ subject: AlertSubject) -> Bool {
        switch subject.device?.condition?.value.status {
        case .retired, .maintenance: false
        default: true
        }
    }

    /// Evaluates every rule of `subject` at `now`. `alerts` holds the subject's
    /// active alerts by id and is updated; each change is appended to `changes`.
    public func evaluate(_ subject: inout AlertSubject, alerts: inout [String: AlertRecord], at now: EventTime, changes: inout [AlertRecord]) {
        let now = max(subject.clock ?? now, now)
        subject.clock = now
        let patientID = subject.patientID
        let deviceID = subject.deviceID
        let news2 = subject.news2
        for rule in subject.rules {
            let timing = timing(rule)
            var track = subject.tracks[rule] ?? RuleTrack()
            let condition = timing.enabled ? condition(rule, subject, news2: news2, at: now) : Condition(state: .cleared)
            if let id = track.alertId, let position = alerts.index(forKey: id), alerts.values[position].isActive {
                // Changed in place in the dictionary: taken out and written back, the
                // alert was copied (a reference count per field) on every event.
                advance(&alerts.values[position], track: &track, rule: rule, timing: timing, condition: condition, subject: subject, at: now, changes: &changes)
            } else {
                track.alertId = nil
                track.clearSince = nil
                if condition.state == .holds {
                    let since = track.pendingSince ?? min(condition.since ?? now, now)
                    track.pendingSince = since
                    let due = since.adding(timing.persistence)
                    if due <= now {
                        track.opened += 1
                        let id = AlertRecord.id(rule: rule, subjectKey: subject.key, openedAt: due, sequence: track.opened)
                        var alert = AlertRecord(
                            snapshot: AlertChanged(
                                alertId: id, version: 1, rule: rule.rawValue, priority: condition.priority, status: .open, message: condition.message,
                                occurrences: 1, escalationLevel: 0, openedAt: due, updatedAt: due,
                                patientId: patientID ?? (subject.lastAlarm?.value.patientId ?? (subject.device?.assignment?.value ?? nil)),
                                deviceId: deviceID, facilityId: subject.facilityId
                            ),
                            subjectKey: subject.key
                        )
                        if rule == .deviceAlarm { track.lastOccurrence = subject.lastAlarm?.at }
                        changes.append(alert)
                        if alert.snapshot.status == .open, let timeout = rules.escalation(for: alert.snapshot.priority), timeout > .zero {
                            while alert.snapshot.escalationLevel < rules.maxEscalationLevel,
                                  alert.snapshot.openedAt.adding(timeout * (alert.snapshot.escalationLevel + 1)) <= now {
                                alert.snapshot.escalationLevel += 1
                                alert.snapshot.version += 1
                                alert.snapshot.updatedAt = alert.snapshot.openedAt.adding(timeout * alert.snapshot.escalationLevel)
                                changes.append(alert)
                            }
                        }
                        alerts[id] = alert
                        track.alertId = id
                        track.pendingSince = nil
                    }
                } else if condition.state == .cleared {
                    track.pendingSince = nil
                }
            }
            subject.tracks[rule] = track.isEmpty ? nil : track
        }
    }

    /// Moves an active alert on at `now` by its rule's `condition`: occurrences,
    /// priority and message, escalations, and its resolution once the condition
    /// has stayed clear for the hysteresis period. Each change gets a version and
    /// is appended to `changes`.
    private func advance(
        _ alert: inout AlertRecord, track: inout RuleTrack, rule: AlertRule, timing: AlertRules.Timing, condition: Condition,
        subject: AlertSubject, at now: EventTime, changes: inout [AlertRecord]
    ) {
        func record(_ at: EventTime) {
            alert.snapshot.version += 1
            alert.snapshot.updatedAt = max(alert.snapshot.updatedAt, at)
            alert.snapshot.facilityId = subject.facilityId ?? alert.snapshot.facilityId
            changes.append(alert)
        }
        switch condition.state {
        case .holds:
            if track.clearSince != nil {
                track.clearSince = nil
                alert.snapshot.occurrences += 1
                record(now)
            }
            if rule == .deviceAlarm, let alarmAt = subject.lastAlarm?.at, alarmAt > (track.lastOccurrence ?? alarmAt) {
                track.lastOccurrence = alarmAt
                alert.snapshot.occurrences += 1
                alert.snapshot.priority = max(alert.snapshot.priority, subject.lastAlarm?.value.priority ?? alert.snapshot.priority)
                alert.snapshot.message = condition.message
                record(alarmAt)
            } else if rule != .deviceAlarm, condition.priority != alert.snapshot.priority || condition.message != alert.snapshot.message {
                alert.snapshot.priority = condition.priority
                alert.snapshot.message = condition.message
                record(now)
            }
        case .cleared:
            if track.clearSince == nil { track.clearSince = min(condition.since ?? now, now) }
        case .unchanged:
            break
        }
        // Escalations fall due before a pending resolution does.
        let resolution = track.clearSince.map { $0.adding(timing.hysteresis) }
        let horizon = min(now, resolution ?? now)
        if alert.snapshot.status == .open, let timeout = rules.escalation(for: alert.snapshot.priority), timeout > .zero {
            while alert.snapshot.escalationLevel < rules.maxEscalationLevel {
                let due = alert.snapshot.openedAt.adding(timeout * (alert.snapshot.escalationLevel + 1))
                guard due <= horizon else { break }
                alert.snapshot.escalationLevel += 1
                record(due)
            }
        }
        if let resolution, resolution <= now {
            alert.snapshot.status = .resolved
            alert.snapshot.resolvedAt = resolution
            record(resolution)
            track = RuleTrack(opened: track.opened)
        }
    }

    /// Acknowledges an active alert: its status, who and when.
    public func acknowledge(_ alert: inout AlertRecord, by person: String, at time: EventTime) -> Bool {
        guard alert.snapshot.status == .open else { return false }
        alert.snapshot.status = .acknowledged
        alert.snapshot.acknowledgedAt = time
        alert.snapshot.acknowledgedBy = person
        alert.snapshot.version += 1
        alert.snapshot.updatedAt = max(alert.snapshot.updatedAt, time)
        return true
    }

    /// The next time something about `subject` falls due (a persistence delay, a
    /// hysteresis period, an escalation, a device going offline, an alarm window
    /// ending), if any.
    public func nextDue(_ subject: AlertSubject, alerts: [String: AlertRecord]) -> EventTime? {
        let clock = subject.clock ?? EventTime(microseconds: 0)
        var next: EventTime?
        func consider(_ time: EventTime) {
            if time > clock, next.map({ time < $0 }) ?? true { next = time }
        }
        for rule in subject.rules {
            let timing = timing(rule)
            guard timing.enabled, let track = subject.tracks[rule] else { continue }
            if let since = track.pendingSince { consider(since.adding(timing.persistence)) }
            if let since = track.clearSince { consider(since.adding(timing.hysteresis)) }
            if let id = track.alertId, let alert = alerts[id], alert.snapshot.status == .open,
               alert.snapshot.escalationLevel < rules.maxEscalationLevel,
               let timeout = rules.escalation(for: alert.snapshot.priority), timeout > .zero {
                consider(alert.snapshot.openedAt.adding(timeout * (alert.snapshot.escalationLevel + 1)))
            }
        }
        if let lastSeen = subject.device?.lastSeenAt, let heartbeat = subject.device?.heartbeatIntervalSeconds, isActive(subject), rules.deviceOffline.enabled {
            consider(lastSeen.adding(.seconds(rules.offlineIntervals * heartbeat)).adding(.microseconds(1)))
        }
        if let alarmAt = subject.lastAlarm?.at { consider(alarmAt.adding(rules.alarmWindow)) }
        return next
    }
}

extension Duration {
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}

/// Number formatting for messages.
enum FieldFormat {
    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}
