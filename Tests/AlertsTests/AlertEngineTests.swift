import Alerts
import AssetInventory
import Events
import PatientState
import ProjectionKit
import Foundation
import Testing

let origin = EventTime(microseconds: 1_764_064_800_000_000)
func at(_ seconds: Double) -> EventTime { origin.adding(.milliseconds(Int64(seconds * 1000))) }

func event(_ seconds: Double, _ payload: EventPayload) -> Event {
    Event(id: "e-\(Int(seconds * 1000))-\(UUID().uuidString.prefix(6))", source: "urn:test", time: at(seconds), payload: payload)
}

/// A patient subject after the given events.
func patientSubject(_ events: [Event]) -> AlertSubject {
    var fold = PatientStateFold()
    for event in events { fold.apply(event) }
    var subject = AlertSubject(key: AlertSubject.patientKey("p1"))
    subject.patient = fold.patients["p1"]
    return subject
}

func vitals(_ seconds: Double, rr: Double, spo2: Double, sbp: Double, pulse: Double, temp: Double) -> Event {
    event(seconds, .vitalsObserved(VitalsObserved(deviceId: "d1", patientId: "p1", observations: [
        Observation(code: "9279-1", value: rr, unit: "/min"), Observation(code: "59408-5", value: spo2, unit: "%"),
        Observation(code: "8480-6", value: sbp, unit: "mm[Hg]"), Observation(code: "8867-4", value: pulse, unit: "/min"),
        Observation(code: "8310-5", value: temp, unit: "Cel"),
    ])))
}

func assessed(_ seconds: Double) -> Event {
    event(seconds, .patientAssessed(PatientAssessed(patientId: "p1", consciousness: .alert, supplementalOxygen: false)))
}

/// Runs the engine on a subject at each time, collecting changes.
struct Run {
    let engine: AlertEngine
    var subject: AlertSubject
    var alerts: [String: AlertRecord] = [:]
    var changes: [AlertRecord] = []

    init(_ subject: AlertSubject, rules: AlertRules = AlertRules()) {
        engine = AlertEngine(rules: rules)
        self.subject = subject
    }

    mutating func evaluate(at seconds: Double) {
        engine.evaluate(&subject, alerts: &alerts, at: at(seconds), changes: &changes)
    }

    func alert(_ rule: AlertRule) -> AlertChanged? {
        alerts.values.filter { $0.snapshot.rule == rule.rawValue }.max { $0.snapshot.openedAt < $1.snapshot.openedAt }?.snapshot
    }
}

@Suite("Alert rules with an injected clock")
struct AlertEngineTests {
    // RR 25 → 3, SpO2 95 → 1, SBP 105 → 1, pulse 115 → 2, 37 °C → 0, alert, air: total 7.
    let high = [vitals(0, rr: 25, spo2: 95, sbp: 105, pulse: 115, temp: 37), assessed(0)]

    @Test("alert ids are the first 12 bytes of SHA-256 over rule, subject, opening time and sequence, in lower-case hex")
    func alertIdentifiers() {
        // Values computed independently (Python hashlib); a rebuild must reproduce
        // the ids clinicians acknowledged.
        #expect(AlertRecord.id(rule: .news2High, subjectKey: "patient:pat-1", openedAt: EventTime(microseconds: 1_764_150_000_000_000), sequence: 1) == "alrt-d51eb559c4d9dd1d5fc7e12b")
        #expect(AlertRecord.id(rule: .batteryLow, subjectKey: "device:dev-9", openedAt: EventTime(microseconds: 1_764_150_123_456_789), sequence: 3) == "alrt-749191976368ac085364d46a")
    }

    @Test("news2.high opens at once, escalates every 2 minutes while unacknowledged, and resolves 5 minutes after clearing")
    func news2High() {
        var run = Run(patientSubject(high))
        run.evaluate(at: 0)
        var alert = run.alert(.news2High)
        #expect(alert?.status == .open)
        #expect(alert?.priority == .high)
        #expect(alert?.openedAt == at(0))
        run.evaluate(at: 119)
        #expect(run.alert(.news2High)?.escalationLevel == 0)
        run.evaluate(at: 250)
        alert = run.alert(.news2High)
        #expect(alert?.escalationLevel == 2)
        #expect(alert?.updatedAt == at(240), "stamped when it fell due, not when noticed")
        // Normal vitals at 260 s: the condition clears; hysteresis 300 s.
        run.subject = patientSubject(high + [vitals(260, rr: 16, spo2: 97, sbp: 120, pulse: 70, temp: 37)])
            .withTracks(of: run.subject)
        run.evaluate(at: 260)
        run.evaluate(at: 559)
        #expect(run.alert(.news2High)?.status == .open)
        run.evaluate(at: 561)
        alert = run.alert(.news2High)
        #expect(alert?.status == .resolved)
        #expect(alert?.resolvedAt == at(560))
    }

    @Test("escalation stops at the highest level, even when first evaluated a day after opening")
    func escalationCap() {
        var run = Run(patientSubject(high))
        run.evaluate(at: 0)
        run.evaluate(at: 86_400)
        let alert = run.alert(.news2High)
        #expect(alert?.escalationLevel == 3)
        #expect(alert?.updatedAt == at(360), "the third escalation fell due at 3 × 2 minutes")
        let levels = run.changes.filter { $0.snapshot.rule == AlertRule.news2High.rawValue }.map(\.snapshot.escalationLevel)
        #expect(levels == [0, 1, 2, 3], "opened, then three escalations")
        // A new alert first seen long after it fell due stops there too.
        var late = Run(patientSubject(high))
        late.evaluate(at: 86_400)
        #expect(late.alert(.news2High)?.escalationLevel == 0)
        var rules = AlertRules()
        rules.maxEscalationLevel = 1
        var capped = Run(patientSubject(high), rules: rules)
        capped.evaluate(at: 0)
        capped.evaluate(at: 3_600)
        #expect(capped.alert(.news2High)?.escalationLevel == 1)
        #expect(capped.engine.nextDue(capped.subject, alerts: capped.alerts) == nil, "nothing left to fall due")
    }

    @Test("news2.medium waits for its 60 s persistence and opens at the end of it")
    func news2MediumPersistence() {
        // RR 22 → 2, SpO2 95 → 1, SBP 105 → 1, pulse 95 → 1: total 5.
        var run = Run(patientSubject([vitals(0, rr: 22, spo2: 95, sbp: 105, pulse: 95, temp: 37), assessed(0)]))
        run.evaluate(at: 0)
        run.evaluate(at: 30)
        #expect(run.alert(.news2Medium) == nil)
        run.evaluate(at: 61)
        #expect(run.alert(.news2Medium)?.openedAt == at(60))
        #expect(run.alert(.news2Medium)?.priority == .medium)
        #expect(run.alert(.news2High) == nil)
    }

    @Test("news2.single-red opens for one parameter scoring 3, even while NEWS2 is incomplete")
    func singleRed() {
        var run = Run(patientSubject([event(0, .vitalsObserved(VitalsObserved(deviceId: "d1", patientId: "p1", observations: [Observation(code: "9279-1", value: 7, unit: "/min")])))]))
        run.evaluate(at: 0)
        run.evaluate(at: 31)
        #expect(run.alert(.news2SingleRed)?.openedAt == at(30))
        #expect(run.alert(.news2SingleRed)?.message.contains("respirationRate") == true)
    }

    @Test("messages name the NEWS2 total, and every parameter scoring 3 in parameter order")
    func messages() {
        // RR 7 → 3, SpO2 91 → 3 (scale 1), SBP 85 → 3, pulse 135 → 3, 39.5 °C → 2,
        // alert, air: total 14.
        var run = Run(patientSubject([vitals(0, rr: 7, spo2: 91, sbp: 85, pulse: 135, temp: 39.5), assessed(0)]))
        run.evaluate(at: 0)
        run.evaluate(at: 31)
        #expect(run.alert(.news2High)?.message == "NEWS2 14: high clinical risk, emergency response")
        #expect(run.alert(.news2SingleRed)?.message == "NEWS2 parameter scoring 3: respirationRate, spo2, systolicBloodPressure, pulse")
        var medium = Run(patientSubject([vitals(0, rr: 21, spo2: 95, sbp: 105, pulse: 95, temp: 37), assessed(0)]))
        medium.evaluate(at: 0)
        medium.evaluate(at: 61)
        // RR 21 → 2, SpO2 95 → 1, SBP 105 → 1, pulse 95 → 1: total 5.
        #expect(medium.alert(.news2Medium)?.message == "NEWS2 5: medium clinical risk, urgent response")
    }

    @Test("a device alarm opens with the device's priority; repeats count and keep the highest priority; it resolves when the window passes")
    func deviceAlarm() {
        var subject = AlertSubject(key: AlertSubject.deviceKey("d1"))
        subject.lastAlarm = Stamped(DeviceAlarm(deviceId: "d1", code: "ASY", priority: .high, message: "asystole"), at: at(0), eventId: "a1")
        var run = Run(subject)
        run.evaluate(at: 0)
        #expect(run.alert(.deviceAlarm)?.priority == .high)
        run.subject.lastAlarm = Stamped(DeviceAlarm(deviceId: "d1", code: "LEAD", priority: .low, message: "lead off"), at: at(10), eventId: "a2")
        run.evaluate(at: 10)
        #expect(run.alert(.deviceAlarm)?.occurrences == 2)
        #expect(run.alert(.deviceAlarm)?.priority == .high)
        run.evaluate(at: 305)
        #expect(run.alert(.deviceAlarm)?.status == .open)
        run.evaluate(at: 311)
        #expect(run.alert(.deviceAlarm)?.status == .resolved)
        #expect(run.alert(.deviceAlarm)?.resolvedAt == at(310))
    }

    @Test("device.offline opens after 3 heartbeat intervals of silence (medium when assigned) and resolves when the device is seen")
    func deviceOffline() {
        var subject = AlertSubject(key: AlertSubject.deviceKey("d1"))
        subject.device?.apply(event(0, .deviceAssigned(DeviceAssignment(deviceId: "d1", patientId: "p1"))))
        var run = Run(subject)
        run.evaluate(at: 170)
        #expect(run.alert(.deviceOffline) == nil)
        run.evaluate(at: 400)
        let alert = run.alert(.deviceOffline)
        #expect(alert?.openedAt == at(180), "stamped when the device went silent for 3 intervals")
        #expect(alert?.priority == .medium)
        run.subject.device?.apply(event(410, .deviceHeartbeat(DeviceHeartbeat(deviceId: "d1", batteryPercent: 80))))
        run.evaluate(at: 410)
        #expect(run.alert(.deviceOffline)?.status == .resolved)
    }

    @Test("device.battery-low: low below 20 %, medium below 10 %, clears only 5 % above the threshold")
    func batteryLow() {
        var subject = AlertSubject(key: AlertSubject.deviceKey("d1"))
        func battery(_ seconds: Double, _ percent: Double) {
            subject.device?.apply(event(seconds, .deviceHeartbeat(DeviceHeartbeat(deviceId: "d1", batteryPercent: percent))))
        }
        battery(0, 15)
        var run = Run(subject)
        run.evaluate(at: 0)
        run.evaluate(at: 61)
        #expect(run.alert(.batteryLow)?.openedAt == at(60))
        #expect(run.alert(.batteryLow)?.priority == .low)
        subject = run.subject
        battery(100, 8)
        run.subject = subject
        run.evaluate(at: 100)
        #expect(run.alert(.batteryLow)?.priority == .medium)
        subject = run.subject
        battery(200, 22)
        run.subject = subject
        run.evaluate(at: 200)
        #expect(run.alert(.batteryLow)?.status == .open, "22 % is within the 5 % margin")
        subject = run.subject
        battery(300, 26)
        run.subject = subject
        run.evaluate(at: 300)
        #expect(run.alert(.batteryLow)?.status == .resolved)
    }

    @Test("an acknowledged alert records who and when, and stops escalating")
    func acknowledgement() {
        var run = Run(patientSubject(high))
        run.evaluate(at: 0)
        var alert = run.alerts.values.first { $0.snapshot.rule == AlertRule.news2High.rawValue }!
        #expect(run.engine.acknowledge(&alert, by: "nurse-7", at: at(60)))
        run.alerts[alert.id] = alert
        run.evaluate(at: 600)
        let snapshot = run.alert(.news2High)!
        #expect(snapshot.status == .acknowledged)
        #expect(snapshot.acknowledgedBy == "nurse-7")
        #expect(snapshot.acknowledgedAt == at(60))
        #expect(snapshot.escalationLevel == 0)
        #expect(!run.engine.acknowledge(&alert, by: "nurse-8", at: at(70)), "a second acknowledgement changes nothing")
    }

    @Test("the same inputs give the same alerts however often the clock looked (restart, rebuild)")
    func deterministic() {
        var often = Run(patientSubject(high))
        for second in stride(from: 0.0, through: 500, by: 7) { often.evaluate(at: second) }
        often.evaluate(at: 500)
        var once = Run(patientSubject(high))
        once.evaluate(at: 0)
        once.evaluate(at: 500)
        #expect(often.alert(.news2High) == once.alert(.news2High))
        #expect(often.alert(.news2High)?.alertId == AlertRecord.id(rule: .news2High, subjectKey: "patient:p1", openedAt: at(0), sequence: 1))
        // The same changes per alert, in the same order (alerts interleave by due time).
        let order = { (a: AlertRecord, b: AlertRecord) in (a.id, a.snapshot.version) < (b.id, b.snapshot.version) }
        #expect(often.changes.sorted(by: order).map(\.snapshot) == once.changes.sorted(by: order).map(\.snapshot))
    }

    @Test("rules load from a JSON file over the defaults, and bad files name the key")
    func rulesFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rules-\(UUID()).json")
        try Data(#"{"news2High": {"threshold": 8, "persistenceSeconds": 10}, "escalation": {"highSeconds": 60, "maxLevel": 5}, "deviceOffline": {"enabled": false}}"#.utf8).write(to: url)
        let rules = try AlertRules(file: url)
        #expect(rules.news2HighThreshold == 8)
        #expect(rules.news2High.persistence == .seconds(10))
        #expect(rules.highEscalation == .seconds(60))
        #expect(rules.maxEscalationLevel == 5)
        #expect(!rules.deviceOffline.enabled)
        #expect(rules.news2Medium == AlertRules().news2Medium)
        try Data(#"{"escalation": {"highSeconds": "soon"}}"#.utf8).write(to: url)
        #expect(throws: AlertRules.FileError.self) { try AlertRules(file: url) }
    }
}

extension AlertSubject {
    /// This subject's data with another's rule state (as if stored and reloaded).
    func withTracks(of other: AlertSubject) -> AlertSubject {
        var copy = self
        copy.tracks = other.tracks
        copy.clock = other.clock
        return copy
    }
}
