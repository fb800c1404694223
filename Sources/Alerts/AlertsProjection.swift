import AssetInventory
import Events
import Foundation
import Logging
import PatientState
import PostgresNIO
import ProjectionKit
import ServiceLifecycle
import ServiceSupport

/// The alerts projection (DESIGN §5): rules over patient and device state
/// (``AlertRule``), one active alert per subject and rule with an occurrence count,
/// persistence before opening, hysteresis before resolving, escalation while
/// unacknowledged, acknowledgement through `iomt.alert.acknowledged.v1`.
///
/// The worker keeps the minimal patient and device state its rules need in its own
/// schema (reusing the pure folds of the patient-state and asset-inventory
/// plugins, never their tables), so it rebuilds on its own. Every change is written
/// to `alerts.changes` in the same transaction, announced with `NOTIFY iomt_alerts`,
/// and relayed to `iomt.alerts.v1` by ``OutboxRelay``.
///
/// Time-driven rules (offline devices, escalation, the end of persistence and
/// hysteresis periods) run from ``tick(in:)`` once a second while the worker is
/// caught up; event-driven evaluation uses event time. Changes are stamped with the
/// time they fell due, so restarts and rebuilds give the same alerts.
public struct AlertsProjection: Projection {
    /// The rules.
    public let engine: AlertEngine
    /// Subjects this worker wrote, so a batch parses only the ones another worker
    /// changed since.
    private let cache = VersionedRowCache<AlertSubject>()

    /// A projection with `rules` (the defaults of DOMAIN.md unless configured).
    public init(rules: AlertRules = AlertRules()) {
        engine = AlertEngine(rules: rules)
    }

    /// `alerts`.
    public var name: String { "alerts" }
    /// `alerts`.
    public var schema: String { "alerts" }
    /// Device and care events.
    public var topics: [EventTopic] { [.deviceEvents, .careEvents] }
    /// Everything that changes a rule's inputs, and acknowledgements.
    public var eventTypes: Set<EventType> {
        Set(EventType.allCases.filter(\.isDeviceEvent)).union([.patientAdmitted, .patientTransferred, .patientDischarged, .patientAssessed, .alertAcknowledged])
    }
    /// Acknowledgements, which go to the dead-letter topic when their alert is
    /// unknown or resolved.
    public var deadLetterTypes: Set<EventType> { [.alertAcknowledged] }
    /// The `alerts` schema.
    public var migrations: [Migration] { AlertsStore.migrations }
    /// Once a second.
    public var tickInterval: Duration? { .seconds(1) }
    /// 15,000 events. Each batch locks, loads and writes every subject it touched
    /// (with 7,000 subjects, a 10,000-event batch touches about 5,000, a
    /// 20,000-event one nearly all), so larger batches write each subject for more
    /// events. In `iomt bench projection --projection alerts` (prefetch 8,192 KiB)
    /// 15,000 gave 26,600–32,500 events/s at 134–139 MB peak RSS, 20,000 gave
    /// 26,400–38,700 at 137–153 MB and 25,000 36,300–37,500 at 145–148 MB: beyond
    /// 15,000 the peak RSS reaches the worker's 150 MB budget for no clear gain on
    /// this noisy machine. (10,000, at a 4,096 KiB prefetch, gave 26,000–27,500 at
    /// 110–113 MB.)
    public var defaultBatchMaxEvents: Int { 15_000 }
    /// 8,192 KiB, half the default: a batch here holds far more than its events
    /// (subjects, active alerts, every change and its document), so the worker's
    /// memory budget leaves less room for prefetched messages. At 4,096 the
    /// fetch stalls of librdkafka 2.0.2 (see ``Projection/defaultPrefetchKilobytes``)
    /// starved 25,000-event batches (30,000 events/s, against 42,000–45,000 at
    /// 8,192); at 16,384 the peak RSS was 195 MB (measured before events were made
    /// smaller in memory).
    public var defaultPrefetchKilobytes: Int { 8192 }

    /// The outbox relay, unless `ALERTS_RELAY=off` (a second worker set on the same
    /// topics, e.g. a comparison run, must not publish).
    public func services(configuration: WorkerConfiguration, postgres: PostgresClient, logger: Logger) throws -> [any Service] {
        if ProcessInfo.processInfo.environment["ALERTS_RELAY"] == "off" { return [] }
        return [OutboxRelay(database: configuration.database, kafka: configuration.kafka, logger: logger)]
    }

    /// Applies a batch: events fold into their subjects, rules are evaluated at
    /// each event's time, acknowledgements change their alerts.
    public func apply(_ batch: [ProjectedEvent], in context: ProjectionContext) async throws {
        var devices = Set<String>()
        var patients = Set<String>()
        var acknowledgements: [String] = []
        for projected in batch {
            let payload = projected.event.payload
            if let device = payload.deviceId { devices.insert(device) }
            switch payload {
            case .vitalsObserved(let data): if let patient = data.patientId { patients.insert(patient) }
            case .deviceAssigned(let data), .deviceUnassigned(let data): patients.insert(data.patientId)
            case .patientAdmitted(let data), .patientTransferred(let data): patients.insert(data.patientId)
            case .patientDischarged(let data): patients.insert(data.patientId)
            case .patientAssessed(let data): patients.insert(data.patientId)
            case .alertAcknowledged(let data): acknowledgements.append(data.alertId)
            default: break
            }
        }
        let acknowledged = try await AlertsStore.lookUp(acknowledgements, context: context)
        var keys = Set(devices.map(AlertSubject.deviceKey)).union(patients.map(AlertSubject.patientKey)).union(acknowledged.values.map(\.subjectKey))
        let sortedKeys = keys.sorted()
        try await AlertsStore.lock(sortedKeys, context: context)
        var subjects = SubjectTable(try await AlertsStore.loadSubjects(sortedKeys, cache: cache, context: context))

        // Vitals without a patient id belong to the device's current patient: find
        // those patients with the devices' assignments, then lock and load them too.
        var fold = PatientStateFold(assignments: assignments(in: subjects))
        var attributed = Set<String>()
        for projected in batch {
            if let patient = fold.patient(of: projected.event) { attributed.insert(patient) }
            fold.applyAssignment(projected.event)
        }
        let extra = attributed.map(AlertSubject.patientKey).filter { !keys.contains($0) }
        if !extra.isEmpty {
            try await AlertsStore.lock(extra.sorted(), context: context)
            subjects.addMissing(try await AlertsStore.loadSubjects(extra, cache: cache, context: context))
            keys.formUnion(extra)
        }
        var alerts = try await AlertsStore.loadActiveAlerts(of: Array(keys), context: context)
        for (id, alert) in acknowledged where alerts[id] == nil { alerts[id] = alert }

        // Fold and evaluate, event by event.
        fold = PatientStateFold(
            patients: Dictionary(uniqueKeysWithValues: subjects.values.compactMap { $0.patient.map { ($0.patientId, $0) } }),
            assignments: assignments(in: subjects)
        )
        var changes: [AlertRecord] = []
        for projected in batch {
            let event = projected.event
            if case .alertAcknowledged(let data) = event.payload {
                guard var alert = alerts[data.alertId] else {
                    context.deadLetter(projected, reason: "alert \(data.alertId) is unknown")
                    continue
                }
                guard alert.isActive else {
                    context.deadLetter(projected, reason: "alert \(data.alertId) is already resolved")
                    continue
                }
                if engine.acknowledge(&alert, by: data.by, at: event.time) {
                    alerts[alert.id] = alert
                    changes.append(alert)
                    subjects.touch(alert.subjectKey)
                }
                continue
            }
            let patient = fold.patient(of: event)
            fold.apply(event)
            // Subjects are changed in place in the dictionary: a copy taken out and
            // written back would share its buffers and make every change copy them.
            if let deviceID = event.payload.deviceId {
                subjects.update(AlertSubject.deviceKey(deviceID)) { apply(event, toDevice: &$0, alerts: &alerts, changes: &changes) }
            }
            if let patient, fold.patients[patient] != nil {
                // The fold owns the newest record: lend it to the subject for the
                // evaluation and take it back, rather than copying it per event.
                subjects.update(AlertSubject.patientKey(patient)) { evaluate(&$0, lending: &fold.patients[patient], at: event.time, alerts: &alerts, changes: &changes) }
            }
        }
        let touched = subjects.touchedKeys
        for key in touched where key.hasPrefix("patient:") {
            let patient = String(key.dropFirst(8))
            if let record = fold.patients[patient] { subjects.updateIfPresent(key) { $0.patient = record } }
        }
        try await save(touched, subjects: subjects, alerts: alerts, changes: changes, context: context)
    }

    private func apply(_ event: Event, toDevice subject: inout AlertSubject, alerts: inout [String: AlertRecord], changes: inout [AlertRecord]) {
        subject.device?.apply(event)
        if case .deviceAlarm(let alarm) = event.payload {
            subject.lastAlarm.keepNewer(Stamped(alarm, at: event.time, eventId: event.id))
        }
        engine.evaluate(&subject, alerts: &alerts, at: event.time, changes: &changes)
    }

    private func evaluate(
        _ subject: inout AlertSubject, lending record: inout PatientRecord?, at time: EventTime,
        alerts: inout [String: AlertRecord], changes: inout [AlertRecord]
    ) {
        swap(&subject.patient, &record)
        engine.evaluate(&subject, alerts: &alerts, at: time, changes: &changes)
        swap(&subject.patient, &record)
    }

    /// Evaluates the subjects whose rules fell due by the clock.
    public func tick(in context: ProjectionContext) async throws {
        let keys = try await AlertsStore.dueSubjects(at: context.now, limit: 1000, context: context)
        guard !keys.isEmpty else { return }
        try await AlertsStore.lock(keys.sorted(), context: context)
        var subjects = SubjectTable(try await AlertsStore.loadSubjects(keys, cache: cache, context: context))
        var alerts = try await AlertsStore.loadActiveAlerts(of: keys, context: context)
        var changes: [AlertRecord] = []
        for key in keys {
            subjects.updateIfPresent(key) { engine.evaluate(&$0, alerts: &alerts, at: context.now, changes: &changes) }
        }
        try await save(keys.sorted(), subjects: subjects, alerts: alerts, changes: changes, context: context)
    }

    /// Writes the touched subjects and the changes, one statement building while
    /// the previous one executes, then remembers the subjects in the cache.
    private func save(_ keys: [String], subjects: SubjectTable, alerts: [String: AlertRecord], changes: [AlertRecord], context: ProjectionContext) async throws {
        let version = VersionedRowCache<AlertSubject>.newVersion()
        try await context.pipelined { send in
            // `alerts` is keyed by alert id and a subject's tracks name only its
            // own alerts, so each subject's next due time reads the whole dictionary.
            try await AlertsStore.write(subjects: keys, in: subjects, version: version, nextDue: { engine.nextDue($0, alerts: alerts) }, to: send)
            try await AlertsStore.write(changes: changes, to: send)
        }
        cache.store(keys.compactMap { key in subjects[key].map { (key: key, value: $0) } }, version: version)
    }

    private func assignments(in subjects: SubjectTable) -> [String: DeviceAssignmentRecord] {
        var result: [String: DeviceAssignmentRecord] = [:]
        for subject in subjects.values {
            if let device = subject.device, let assignment = device.assignment {
                result[device.deviceId] = DeviceAssignmentRecord(deviceId: device.deviceId, patient: assignment)
            }
        }
        return result
    }
}
