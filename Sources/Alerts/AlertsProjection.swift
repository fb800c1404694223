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
/// to `alerts.changes` in the same transaction, announced with `NOTIFY iomt_alerts`
/// (one per statement appending changes, naming the range of sequence numbers
/// it appended),
/// and relayed to `iomt.alerts.v1` by ``OutboxRelay``.
///
/// Time-driven rules (offline devices, escalation, the end of persistence and
/// hysteresis periods) run from ``tick(in:)`` once a second while the worker is
/// caught up; event-driven evaluation uses event time. Changes are stamped with the
/// time they fell due, so restarts and rebuilds give the same alerts.
public struct AlertsProjection: Projection {
    /// The rules.
    public let engine: AlertEngine
    /// Subjects this worker wrote, with their active alerts, so a batch parses
    /// only the ones another worker changed since, and evaluates from them while
    /// their locks are taken.
    private let cache = VersionedRowCache<KnownSubject>()
    /// Whether to evaluate from the cache before the versions are known, and how
    /// often that evaluation was kept.
    let optimism = Optimism()

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
    /// 25,000 events. Each batch locks and writes every subject it touched (with
    /// 7,000 subjects, a 10,000-event batch touches about 5,000, a 20,000-event
    /// one nearly all), so larger batches write each subject for more events.
    /// Memory bounds it: the worker holds the batch it applies and one batch
    /// prepared ahead (`DecodedMailbox.releaseAhead()`), with their evaluations,
    /// against a 150 MB budget. In `iomt bench projection --projection alerts`,
    /// alternating runs: 25,000 gave 61,900–78,400 events/s at 136–139 MB peak
    /// RSS against 55,700–64,800 at 133–139 MB with 17,000 (3 runs each), on
    /// ward 100,600–113,600 at 123–125 MB against 78,600–89,000 at 115–118 MB
    /// (2 runs each); 30,000 peaked at 137–153 MB (3 runs). Batches grew from
    /// 15,000 to 25,000 as the worker's memory per batch fell: a prepared batch
    /// counting against the mailbox's bound, batches freed on another task, and
    /// changes written 2,000 per statement rather than all of a batch's
    /// snapshots held at once, twice.
    public var defaultBatchMaxEvents: Int { 25_000 }

    /// True: peak RSS sits close to the 150 MB budget at 25,000-event batches,
    /// and returning each freed batch's memory lowers it. In `iomt bench
    /// projection --projection alerts`, 6 alternating runs: 131–139 MB against
    /// 136–149 MB, at 65,800–75,000 against 62,100–76,100 events/s. Patient
    /// state, with 50,000-event batches, was slower with it (136,700–138,100
    /// against 144,000–146,300 events/s, 2 runs each) and asset inventory
    /// showed no clear difference, so they keep the default.
    public var releasesFreedMemory: Bool { true }

    /// The outbox relay, unless `ALERTS_RELAY=off` (a second worker set on the same
    /// topics, e.g. a comparison run, must not publish).
    public func services(configuration: WorkerConfiguration, postgres: PostgresClient, logger: Logger) throws -> [any Service] {
        if ProcessInfo.processInfo.environment["ALERTS_RELAY"] == "off" { return [] }
        return [OutboxRelay(database: configuration.database, kafka: configuration.kafka, logger: logger)]
    }

    /// Applies a batch: events fold into their subjects, rules are evaluated at
    /// each event's time, acknowledgements change their alerts. See
    /// ``apply(_:prepared:in:)``.
    public func apply(_ batch: [ProjectedEvent], in context: ProjectionContext) async throws {
        try await apply(batch, prepared: nil, in: context)
    }

    /// True: batches are evaluated ahead (``prepare(_:)``).
    public var preparesAhead: Bool { true }

    /// Evaluates a batch from the subjects this worker last wrote (the cache holds
    /// them with their active alerts), before the batch's transaction and possibly
    /// while the previous batch is still being written (from what that batch left
    /// in the cache). Nothing when a subject is not cached, the batch acknowledges
    /// alerts (finding their subjects needs the database), or evaluations from the
    /// cache are paused. The result is remembered in the cache at once, under the
    /// row version it will be written with, so the next batch can be prepared
    /// from it; remembering it only once ``apply(_:prepared:in:)`` found it
    /// current put that work between the version check and the next preparation
    /// (37,600–41,300 events/s in 3 runs, against 40,600–49,600 in 5). If the
    /// batch is not applied from it (the runtime dropped the preparation, another
    /// worker wrote, or the transaction failed), PostgreSQL never holds that
    /// version: the next evaluation from those entries is discarded at its version
    /// check, and the batch is evaluated from the stored rows.
    ///
    /// The statements are built when the batch is applied, not here: built ahead,
    /// they held about 6 MB more at once and the worker's peak RSS passed its
    /// 150 MB budget in two of six runs of `iomt bench projection --projection
    /// alerts` (135–164 MB, against 139–147 MB in four runs), for no clear gain in
    /// speed (41,000–48,000 events/s, against 37,000–45,000).
    public func prepare(_ events: [ProjectedEvent]) async -> (any Sendable)? {
        guard !optimism.isPaused else { return nil }
        return prepare(events, scope: BatchScope(events))
    }

    /// ``prepare(_:)`` with the batch's scope already read.
    private func prepare(_ events: [ProjectedEvent], scope: BatchScope) -> PreparedBatch? {
        guard scope.acknowledgements.isEmpty, var known = knownState(of: scope.keys, batch: events) else { return nil }
        let assignments = known.assignments
        let (subjects, alerts) = known.take()
        // Every subject has a row (it is cached, and its row version is checked
        // before the batch is written), and so has every alert it had.
        let existing = Set(alerts.keys)
        let evaluation = Evaluation(batch: events, subjects: SubjectTable(consume subjects), alerts: alerts, assignments: assignments, engine: engine)
        // The subjects' rows are updated: a subject the evaluation had to create
        // (none should be) has none, so such a batch is applied from the store.
        guard evaluation.subjects.values.count == known.versions.count else { return nil }
        let written = Written(touched: evaluation.subjects.touchedKeys, existingAlerts: existing)
        remember(evaluation, written)
        return PreparedBatch(versions: known.versions, evaluation: evaluation, written: written)
    }

    /// Applies a batch. Prepared from the cache (by ``prepare(_:)``, ahead or
    /// now), its evaluation is written if, under the subjects' locks, every subject
    /// still has the row version it was evaluated from. Otherwise (another worker wrote
    /// some of them, or the cache lacks some) the subjects and their active alerts
    /// are loaded and the batch is evaluated from them.
    public func apply(_ events: [ProjectedEvent], prepared: (any Sendable)?, in context: ProjectionContext) async throws {
        optimism.beginBatch()
        var evaluated = prepared as? PreparedBatch
        var scope: BatchScope?
        if evaluated == nil, !optimism.isPaused {
            let read = BatchScope(events)
            scope = read
            evaluated = prepare(events, scope: read)
        }
        if let prepared = evaluated {
            try await AlertsStore.lock(prepared.keys, context: context)
            if try await AlertsStore.hold(prepared.keys, at: prepared.versions, context: context) {
                optimism.record(hit: true)
                return try await save(prepared.evaluation, prepared.written, remembered: true, context: context)
            }
            optimism.record(hit: false)
            context.logger.debug("evaluation from cached subjects discarded: another worker wrote some of them")
        }
        let batchScope = scope ?? BatchScope(events)
        let acknowledged = try await AlertsStore.lookUp(batchScope.acknowledgements, context: context)
        let evaluation = try await evaluateFromStore(events, keys: batchScope.keys.union(acknowledged.values.map(\.subjectKey)), acknowledged: acknowledged, context: context)
        try await save(evaluation, Written(touched: evaluation.subjects.touchedKeys), context: context)
    }

    /// A batch prepared from the cache: the row versions its subjects were
    /// evaluated from, the evaluation, and how it is written.
    struct PreparedBatch: Sendable {
        /// The subjects' keys (`lock` orders the locks itself) and, at the same
        /// positions, their row versions: arrays built here, ahead, rather than
        /// from a dictionary once for the locks and again for the version check,
        /// on the path every batch waits on.
        var keys: [String] = []
        var versions: [Int64] = []
        var evaluation: Evaluation
        var written: Written

        init(versions: [String: Int64], evaluation: Evaluation, written: Written) {
            keys.reserveCapacity(versions.count)
            self.versions.reserveCapacity(versions.count)
            for (key, version) in versions {
                keys.append(key)
                self.versions.append(version)
            }
            self.evaluation = evaluation
            self.written = written
        }
    }

    /// How an evaluation is written: the subjects it touched (sorted), the row
    /// version they are written and cached under, and, when known, the alerts
    /// that have a row (then every subject is known to have one too).
    struct Written: Sendable {
        var touched: [String]
        var version = VersionedRowCache<KnownSubject>.newVersion()
        var existingAlerts: Set<String>?
    }

    /// Locks and loads the batch's subjects and their active alerts, then
    /// evaluates the batch.
    private func evaluateFromStore(
        _ batch: [ProjectedEvent], keys: Set<String>, acknowledged: [String: AlertRecord], context: ProjectionContext
    ) async throws -> Evaluation {
        var keys = keys
        try await AlertsStore.lock(Array(keys), context: context)
        var subjects = SubjectTable(try await AlertsStore.loadSubjects(Array(keys), cache: cache, context: context))
        // Vitals without a patient id belong to the device's current patient: find
        // those patients with the devices' assignments, then lock and load them too.
        // Extra subjects are patients: the devices' assignments stay as read here.
        let held = assignments(in: subjects.values)
        let extra = PatientStateFold.patients(in: batch.lazy.map(\.event), assignments: held)
            .map(AlertSubject.patientKey).filter { !keys.contains($0) }
        if !extra.isEmpty {
            try await AlertsStore.lock(extra, context: context)
            subjects.addMissing(try await AlertsStore.loadSubjects(extra, cache: cache, context: context))
            keys.formUnion(extra)
        }
        var alerts = try await AlertsStore.loadActiveAlerts(of: Array(keys), context: context)
        for (id, alert) in acknowledged where alerts[id] == nil { alerts[id] = alert }
        return Evaluation(batch: batch, subjects: consume subjects, alerts: consume alerts, assignments: held, engine: engine)
    }

    /// The batch's subjects and their active alerts as this worker last wrote
    /// them, with the row versions that vouch for them, if the cache holds every
    /// subject (those of `keys` and the patients its vitals are attributed to).
    private func knownState(of keys: Set<String>, batch: [ProjectedEvent]) -> KnownState? {
        var known = KnownState()
        known.subjects.reserveCapacity(keys.count)
        known.versions.reserveCapacity(keys.count)
        let keys = Array(keys)
        for (key, entry) in zip(keys, cache.entries(keys)) {
            guard let entry else { return nil }
            known.add(key, entry)
        }
        known.assignments = assignments(in: known.subjects)
        for patient in PatientStateFold.patients(in: batch.lazy.map(\.event), assignments: known.assignments) {
            let key = AlertSubject.patientKey(patient)
            guard known.versions[key] != nil || known.add(key, from: cache) else { return nil }
        }
        return known
    }

    /// Evaluates the subjects whose rules fell due by the clock.
    public func tick(in context: ProjectionContext) async throws {
        let keys = try await AlertsStore.dueSubjects(at: context.now, limit: 1000, context: context)
        guard !keys.isEmpty else { return }
        try await AlertsStore.lock(keys, context: context)
        var evaluation = Evaluation(
            subjects: SubjectTable(try await AlertsStore.loadSubjects(keys, cache: cache, context: context)),
            alerts: try await AlertsStore.loadActiveAlerts(of: keys, context: context)
        )
        for key in keys {
            evaluation.subjects.updateIfPresent(key) { engine.evaluate(&$0, alerts: &evaluation.alerts, at: context.now, changes: &evaluation.changes) }
        }
        try await save(evaluation, Written(touched: evaluation.subjects.touchedKeys), exactDue: true, context: context)
    }

    /// Records the evaluation's dead letters, remembers the subjects it touched in
    /// the cache under their new row version (unless ``prepare(_:)`` already did),
    /// tells the runtime the next batch may be prepared from them, and writes them
    /// and the changes, one statement building while the previous one executes.
    /// Remembered before they are written: if the transaction then fails,
    /// PostgreSQL never holds that version, so the next evaluation from those
    /// entries is discarded at its version check.
    /// The clock's evaluations (`exactDue`) store each subject's exact next due
    /// time; batches keep an earlier stored one (see `AlertsStore`).
    private func save(_ evaluation: Evaluation, _ written: Written, remembered: Bool = false, exactDue: Bool = false, context: ProjectionContext) async throws {
        for (event, reason) in evaluation.deadLetters { context.deadLetter(event, reason: reason) }
        if !remembered { remember(evaluation, written) }
        context.evaluationFinished()
        try await context.pipelined { send in
            // `alerts` is keyed by alert id and a subject's tracks name only its
            // own alerts, so each subject's next due time reads the whole dictionary.
            try await AlertsStore.write(
                subjects: written.touched, in: evaluation.subjects, version: written.version, existing: written.existingAlerts != nil,
                exactDue: exactDue, nextDue: { engine.nextDue($0, alerts: evaluation.alerts) }, to: send
            )
            try await AlertsStore.write(changes: evaluation.changes, existing: written.existingAlerts, to: send)
        }
    }

    /// Caches the subjects the evaluation touched, with their active alerts, as
    /// written.
    private func remember(_ evaluation: Evaluation, _ written: Written) {
        let active = evaluation.activeAlertsBySubject
        var known: [(key: String, value: KnownSubject)] = []
        known.reserveCapacity(written.touched.count)
        evaluation.subjects.forEachTouched { subject in
            known.append((key: subject.key, value: KnownSubject(subject: subject, alerts: active[subject.key] ?? [])))
        }
        cache.store(known, version: written.version)
    }
}

/// The device assignments held by `subjects`' devices.
func assignments(in subjects: [AlertSubject]) -> [String: DeviceAssignmentRecord] {
    var result: [String: DeviceAssignmentRecord] = [:]
    result.reserveCapacity(subjects.count)
    for subject in subjects {
        if let device = subject.device, let assignment = device.assignment {
            result[device.deviceId] = DeviceAssignmentRecord(deviceId: device.deviceId, patient: assignment)
        }
    }
    return result
}

