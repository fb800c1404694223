import Events
import PatientState
import ProjectionKit
import Synchronization

/// What a batch names, read from its events alone: devices, patients, and the
/// alerts its acknowledgements are for.
struct BatchScope {
    var devices = Set<String>()
    var patients = Set<String>()
    var acknowledgements: [String] = []

    init(_ batch: [ProjectedEvent]) {
        // By index: a loop over the elements copied every event whole (a
        // reference count per field, on objects the decoding thread made); now
        // only the payload is copied, to be matched.
        for index in batch.indices {
            if let device = batch[index].event.payload.deviceId { devices.insert(device) }
            switch batch[index].event.payload {
            case .vitalsObserved(let data): if let patient = data.patientId { patients.insert(patient) }
            case .deviceAssigned(let data), .deviceUnassigned(let data): patients.insert(data.patientId)
            case .patientAdmitted(let data), .patientTransferred(let data): patients.insert(data.patientId)
            case .patientDischarged(let data): patients.insert(data.patientId)
            case .patientAssessed(let data): patients.insert(data.patientId)
            case .alertAcknowledged(let data): acknowledgements.append(data.alertId)
            default: break
            }
        }
    }

    /// The subject keys of the named devices and patients.
    var keys: Set<String> {
        Set(devices.map(AlertSubject.deviceKey)).union(patients.map(AlertSubject.patientKey))
    }
}

/// A subject as this worker last wrote it, with its active alerts. A subject's
/// alerts change only while its lock is held, and every change rewrites the
/// subject's row, so the row version that vouches for the subject vouches for its
/// alerts too.
struct KnownSubject: Sendable {
    var subject: AlertSubject
    var alerts: [AlertRecord]
}

/// A batch's subjects and active alerts taken from the cache, and the row version
/// each was cached at (what PostgreSQL must still hold for them to be current).
struct KnownState {
    var subjects: [AlertSubject] = []
    var alerts: [String: AlertRecord] = [:]
    var versions: [String: Int64] = [:]
    /// The device assignments the subjects hold (``assignments(in:)``; the
    /// patients added for the batch's vitals hold none).
    var assignments: [String: DeviceAssignmentRecord] = [:]

    /// Takes the subjects and the alerts out (so the evaluation changes them
    /// without copying).
    mutating func take() -> (subjects: [AlertSubject], alerts: [String: AlertRecord]) {
        defer {
            subjects = []
            alerts = [:]
        }
        return (subjects, alerts)
    }

    /// Adds the cached subject of `key` and its alerts; false if it is not cached.
    mutating func add(_ key: String, from cache: VersionedRowCache<KnownSubject>) -> Bool {
        guard let entry = cache.entry(key) else { return false }
        add(key, entry)
        return true
    }

    /// Adds a cached subject and its alerts.
    mutating func add(_ key: String, _ entry: (version: Int64, value: KnownSubject)) {
        versions[key] = entry.version
        subjects.append(entry.value.subject)
        for alert in entry.value.alerts { alerts[alert.id] = alert }
    }
}

/// One batch's evaluation: the subjects (those it touched flagged), every alert
/// it read or changed, the changes in order, and the acknowledgements to send to
/// the dead-letter topic. Pure: no I/O, so it can run while the batch's locks are
/// being taken and be discarded if the subjects turn out to be stale.
struct Evaluation: Sendable {
    var subjects: SubjectTable
    var alerts: [String: AlertRecord]
    var changes: [AlertRecord] = []
    var deadLetters: [(ProjectedEvent, String)] = []

    init(subjects: consuming SubjectTable, alerts: consuming [String: AlertRecord]) {
        self.subjects = subjects
        self.alerts = alerts
    }

    /// Folds `batch` into `subjects` and evaluates their rules at each event's
    /// time, over their active `alerts` (plus any acknowledged ones);
    /// acknowledgements change their alerts. Takes the table and the alerts over,
    /// so they are changed without being copied. `assignments` are those the
    /// subjects' devices hold (``assignments(in:)``), which the caller already
    /// read to find the batch's patients.
    init(
        batch: [ProjectedEvent], subjects: consuming SubjectTable, alerts: consuming [String: AlertRecord],
        assignments: [String: DeviceAssignmentRecord], engine: AlertEngine
    ) {
        // Locals, not properties: the closures below change the alerts and the
        // changes while the table changes a subject.
        var subjects = consume subjects
        var alerts = consume alerts
        var changes: [AlertRecord] = []
        var deadLetters: [(ProjectedEvent, String)] = []
        // Only assignments: each patient's record is folded in its subject.
        var fold = PatientStateFold(assignments: assignments)
        // Each event is taken from the batch once (the array's subscript copies
        // it) and passed on borrowed: a loop over the elements and a local bound
        // to the event copied the element and then the event.
        func apply(_ event: Event, at index: Int) {
            if case .alertAcknowledged(let data) = event.payload {
                guard var alert = alerts[data.alertId] else {
                    deadLetters.append((batch[index], "alert \(data.alertId) is unknown"))
                    return
                }
                guard alert.isActive else {
                    deadLetters.append((batch[index], "alert \(data.alertId) is already resolved"))
                    return
                }
                if engine.acknowledge(&alert, by: data.by, at: event.time) {
                    alerts[alert.id] = alert
                    changes.append(alert)
                    subjects.touch(alert.subjectKey)
                }
                return
            }
            let patient = fold.patient(of: event)
            fold.applyAssignment(event)
            // Subjects are changed in place in the table: a copy taken out and
            // written back would share its buffers and make every change copy them.
            if let deviceID = event.payload.deviceId {
                subjects.update(AlertSubject.deviceKey(deviceID)) { subject in
                    subject.device?.apply(event)
                    if case .deviceAlarm(let alarm) = event.payload {
                        subject.lastAlarm.keepNewer(Stamped(alarm, at: event.time, eventId: event.id))
                    }
                    engine.evaluate(&subject, alerts: &alerts, at: event.time, changes: &changes)
                }
            }
            if let patient {
                subjects.update(AlertSubject.patientKey(patient)) { subject in
                    if !subject.hasPatientRecord { subject.patient = PatientRecord(patientId: patient) }
                    PatientStateFold.apply(event, to: &subject.patient!)
                    engine.evaluate(&subject, alerts: &alerts, at: event.time, changes: &changes)
                }
            }
        }
        for index in batch.indices { apply(batch[index].event, at: index) }
        // Copied, not consumed (`apply` captures them): each shares its buffer
        // only until this initializer returns.
        self.subjects = subjects
        self.alerts = alerts
        self.changes = changes
        self.deadLetters = deadLetters
    }

    /// The active alerts by subject key.
    var activeAlertsBySubject: [String: [AlertRecord]] {
        var result: [String: [AlertRecord]] = [:]
        for alert in alerts.values where alert.isActive { result[alert.subjectKey, default: []].append(alert) }
        return result
    }
}

/// Whether to evaluate a batch from the cache before its row versions are known.
/// After a discarded evaluation (another worker wrote some of the subjects) the
/// next ``pause`` batches are evaluated from the stored rows only, so workers
/// that share many subjects do not evaluate every batch twice; those batches
/// refresh the cache.
final class Optimism: Sendable {
    /// Batches evaluated from the stored rows only after a discarded evaluation.
    static let pause = 4
    private let state = Mutex((skip: 0, hits: 0, misses: 0))

    /// True while paused after a discarded evaluation.
    var isPaused: Bool { state.withLock { $0.skip > 0 } }

    /// Counts a batch towards the end of a pause (once per attempt to apply one).
    func beginBatch() {
        state.withLock { state in state.skip = max(0, state.skip - 1) }
    }

    /// Counts an evaluation kept (`hit`) or discarded; a discarded one pauses.
    func record(hit: Bool) {
        state.withLock { state in
            if hit { state.hits += 1 } else { state.misses += 1; state.skip = Self.pause }
        }
    }

    /// Evaluations kept and discarded so far.
    var counts: (hits: Int, misses: Int) {
        state.withLock { ($0.hits, $0.misses) }
    }
}
