import Events
import ProjectionKit

/// The pure fold of patient state: events in, records out, no I/O.
///
/// Events are applied in batch order, which keeps each device's events in their
/// partition order, so a device's assignment precedes its later vitals. Every
/// field keeps the newest value by event time (ties by event id), so late events
/// never overwrite newer state and the result does not depend on how partitions
/// interleave.
public struct PatientStateFold: Sendable {
    /// Patients by id (loaded ones, plus any created by the events).
    public var patients: [String: PatientRecord]
    /// Device assignments by device id.
    public var assignments: [String: DeviceAssignmentRecord]
    /// Patients changed by the fold.
    public private(set) var changedPatients: Set<String> = []
    /// Devices whose assignment changed.
    public private(set) var changedDevices: Set<String> = []
    /// Vitals that named no patient while their device had none assigned.
    public private(set) var unattributedVitals = 0

    /// Starts from stored state.
    public init(patients: [String: PatientRecord] = [:], assignments: [String: DeviceAssignmentRecord] = [:]) {
        self.patients = patients
        self.assignments = assignments
    }

    /// The devices whose assignments a batch needs.
    public static func devices(in events: [Event]) -> Set<String> {
        Set(events.compactMap { event in
            switch event.payload {
            case .vitalsObserved(let data) where data.patientId == nil: data.deviceId
            case .deviceAssigned(let data), .deviceUnassigned(let data): data.deviceId
            default: nil
            }
        })
    }

    /// The patients a batch touches, given the stored assignments of its devices
    /// (assignment changes inside the batch are replayed). Inlinable, so callers
    /// in other modules get it specialized for their sequence.
    @inlinable
    public static func patients(in events: some Sequence<Event>, assignments: [String: DeviceAssignmentRecord]) -> Set<String> {
        var fold = PatientStateFold(assignments: assignments)
        var ids = Set<String>()
        for event in events {
            if let patient = fold.patient(of: event) { ids.insert(patient) }
            fold.applyAssignment(event)
        }
        return ids
    }

    /// Applies one event.
    public mutating func apply(_ event: Event) {
        guard let patientID = patient(of: event) else {
            if case .vitalsObserved = event.payload { unattributedVitals += 1 }
            return
        }
        applyAssignment(event)
        // Changed in place: a copy taken out of the dictionary and written back
        // would share the record's vitals with the stored one, and the first change
        // would copy them.
        Self.apply(event, to: &patients[patientID, default: PatientRecord(patientId: patientID)])
        changedPatients.insert(patientID)
    }

    /// Applies one event to a patient's record (newest value by event time wins),
    /// whoever keeps the record.
    public static func apply(_ event: Event, to record: inout PatientRecord) {
        func stamp<V>(_ value: V) -> Stamped<V> { Stamped(value, at: event.time, eventId: event.id) }
        switch event.payload {
        case .vitalsObserved(let data):
            for observation in data.observations {
                let normalized = observation.normalized
                record.vitals[normalized.code].keepNewer(stamp(VitalReading(value: normalized.value, unit: normalized.unit)))
            }
        case .patientAdmitted(let data), .patientTransferred(let data):
            record.location.keepNewer(stamp(PatientLocation(facilityId: data.facilityId, unit: data.unit, bed: data.bed)))
            record.status.keepNewer(stamp(PatientStatus.admitted))
        case .patientDischarged:
            record.status.keepNewer(stamp(PatientStatus.discharged))
        case .patientAssessed(let data):
            if let level = data.consciousness { record.consciousness.keepNewer(stamp(level)) }
            if let oxygen = data.supplementalOxygen { record.supplementalOxygen.keepNewer(stamp(oxygen)) }
            if let scale = data.spo2Scale { record.spo2Scale.keepNewer(stamp(scale)) }
        default:
            break  // assignments only count towards the patient's events
        }
        record.eventsApplied += 1
        record.lastEventAt = max(record.lastEventAt ?? event.time, event.time)
    }

    /// The patient an event is about, if any (vitals without a patient id: the
    /// device's current patient).
    public func patient(of event: Event) -> String? {
        switch event.payload {
        case .vitalsObserved(let data):
            if let patient = data.patientId { return patient }
            return assignments[data.deviceId]?.patient.value ?? nil
        case .deviceAssigned(let data), .deviceUnassigned(let data): return data.patientId
        case .patientAdmitted(let data), .patientTransferred(let data): return data.patientId
        case .patientDischarged(let data): return data.patientId
        case .patientAssessed(let data): return data.patientId
        default: return nil
        }
    }

    /// Updates a device's assignment from an assignment event, newest wins. An
    /// unassignment only clears the patient it names. Other events do nothing.
    public mutating func applyAssignment(_ event: Event) {
        let candidate: Stamped<String?>
        let deviceID: String
        switch event.payload {
        case .deviceAssigned(let data):
            deviceID = data.deviceId
            candidate = Stamped(data.patientId, at: event.time, eventId: event.id)
        case .deviceUnassigned(let data):
            deviceID = data.deviceId
            if let current = assignments[deviceID]?.patient.value, current != data.patientId { return }
            candidate = Stamped(nil, at: event.time, eventId: event.id)
        default:
            return
        }
        let current = assignments[deviceID]?.patient
        guard candidate.supersedes(current) else { return }
        assignments[deviceID] = DeviceAssignmentRecord(deviceId: deviceID, patient: candidate)
        changedDevices.insert(deviceID)
    }
}
