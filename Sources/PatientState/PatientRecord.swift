import Clinical
import Events
import ProjectionKit

/// Admission status of a patient.
public enum PatientStatus: String, Sendable, Equatable, CaseIterable {
    /// Admitted (or transferred) and not discharged since.
    case admitted
    /// Discharged.
    case discharged
    /// Seen only through device data or assessments.
    case unknown
}

/// Where a patient is cared for.
public struct PatientLocation: Sendable, Equatable {
    /// Facility.
    public var facilityId: String
    /// Hospital unit (ward).
    public var unit: String
    /// Bed.
    public var bed: String?

    /// Creates a location.
    public init(facilityId: String, unit: String, bed: String?) {
        self.facilityId = facilityId
        self.unit = unit
        self.bed = bed
    }
}

/// The latest value of one vital sign, in its canonical unit.
public struct VitalReading: Sendable, Equatable {
    /// The value.
    public var value: Double
    /// UCUM unit.
    public var unit: String

    /// Creates a reading.
    public init(value: Double, unit: String) {
        self.value = value
        self.unit = unit
    }
}

/// One patient's projected state (DESIGN §5): every field keeps the newest value
/// by event time.
public struct PatientRecord: Sendable, Equatable {
    /// The patient.
    public var patientId: String
    /// Location from the newest admission or transfer.
    public var location: Stamped<PatientLocation>?
    /// Status from the newest admission, transfer or discharge.
    public var status: Stamped<PatientStatus>?
    /// Newest reading per LOINC code (unknown codes kept).
    public var vitals: [String: Stamped<VitalReading>] = [:]
    /// Newest assessed consciousness.
    public var consciousness: Stamped<ConsciousnessLevel>?
    /// Newest assessed supplemental oxygen.
    public var supplementalOxygen: Stamped<Bool>?
    /// Newest SpO2 scale set by a clinician.
    public var spo2Scale: Stamped<Int>?
    /// Newest event time seen for the patient.
    public var lastEventAt: EventTime?
    /// Events applied to this patient (each exactly once).
    public var eventsApplied = 0

    /// A patient with no state yet.
    public init(patientId: String) {
        self.patientId = patientId
    }

    /// The inputs of NEWS2, taken from the newest readings.
    public var news2Observations: NEWS2Observations {
        func reading(_ code: VitalSignCode) -> Reading<Double>? {
            vitals[code.code].map { Reading($0.value.value, at: $0.at.date) }
        }
        // The newer of the two SpO2 codes (no array: scored on every vitals event).
        let spo2: Stamped<VitalReading>?
        switch (vitals[VitalSignCode.oxygenSaturationPulseOximetry.code], vitals[VitalSignCode.oxygenSaturation.code]) {
        case let (pulseOximetry?, arterial?):
            spo2 = (pulseOximetry.at, pulseOximetry.eventId) < (arterial.at, arterial.eventId) ? arterial : pulseOximetry
        case let (pulseOximetry, arterial):
            spo2 = pulseOximetry ?? arterial
        }
        return NEWS2Observations(
            respirationRate: reading(.respiratoryRate),
            spo2: spo2.map { Reading($0.value.value, at: $0.at.date) },
            supplementalOxygen: supplementalOxygen.map { Reading($0.value, at: $0.at.date) },
            systolicBloodPressure: reading(.systolicBloodPressure),
            pulse: reading(.heartRate),
            consciousness: consciousness.flatMap { stamped in Consciousness(rawValue: stamped.value.rawValue).map { Reading($0, at: stamped.at.date) } },
            temperature: reading(.bodyTemperature),
            scale: spo2Scale?.value == 2 ? .scale2 : .scale1
        )
    }

    /// NEWS2 from the newest readings.
    public var news2: NEWS2Score { NEWS2.score(news2Observations) }

    /// What alarm rules read of ``news2``, computed without building it.
    public var news2Summary: NEWS2Summary { NEWS2.summary(news2Observations) }
}

/// The current patient of a device, as the newest assignment event says.
public struct DeviceAssignmentRecord: Sendable, Equatable {
    /// The device.
    public var deviceId: String
    /// The patient, or nil after an unassignment.
    public var patient: Stamped<String?>

    /// Creates a record.
    public init(deviceId: String, patient: Stamped<String?>) {
        self.deviceId = deviceId
        self.patient = patient
    }
}
