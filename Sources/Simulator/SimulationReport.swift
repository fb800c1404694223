import Clinical
import Events
import Foundation

/// What a simulation run sent, for checking the system's projections against it
/// (the end-to-end test does) and for the closing summary of `iomt simulate`.
/// Times are RFC 3339 strings.
public struct SimulationReport: Sendable, Codable {
    /// One patient's stay.
    public struct Patient: Sendable, Codable {
        /// Pseudonymous patient id.
        public var patientId: String
        /// Facility of the admission.
        public var facilityId: String
        /// Ward of the admission (after any transfer).
        public var unit: String
        /// `admitted` or `discharged`.
        public var status: String
        /// The latest value sent per LOINC code, as sent (value and UCUM unit).
        public var latest: [String: Measurement]
        /// The latest assessment: consciousness (ACVPU letter).
        public var consciousness: String?
        /// The latest assessment: supplemental oxygen.
        public var supplementalOxygen: Bool?
        /// The SpO2 scale (1 or 2).
        public var spo2Scale: Int
        /// Devices assigned at the end of the run.
        public var devices: [String]
    }

    /// A value as a device sent it.
    public struct Measurement: Sendable, Codable, Equatable {
        /// The value.
        public var value: Double
        /// The UCUM unit.
        public var unit: String
        /// The event time.
        public var time: String
    }

    /// A deterioration episode.
    public struct Episode: Sendable, Codable {
        /// The patient.
        public var patientId: String
        /// How far NEWS2 was taken.
        public var level: DeteriorationLevel
        /// When the values started to move.
        public var startedAt: String
        /// When the first vitals at the target were sent (nil: not reached).
        public var reachedAt: String?
        /// When the values were back at baseline (nil: still in progress).
        public var endedAt: String?
    }

    /// An acknowledgement the simulated clinicians sent.
    public struct Acknowledgement: Sendable, Codable {
        /// The alert.
        public var alertId: String
        /// Who acknowledged it.
        public var by: String
    }

    /// Events generated, by type.
    public var eventsByType: [String: Int] = [:]
    /// Every patient admitted during the run, in admission order.
    public var patients: [Patient] = []
    /// Every deterioration episode started.
    public var episodes: [Episode] = []
    /// Acknowledgements sent.
    public var acknowledgements: [Acknowledgement] = []
    /// Devices registered.
    public var devices: Int = 0

    /// Events generated in total.
    public var events: Int { eventsByType.values.reduce(0, +) }

    /// Creates an empty report.
    public init() {}
}

extension SimulationReport.Patient {
    /// The NEWS2 the platform must show for this patient: scored from the latest
    /// value sent per code (normalized to its canonical unit), the latest
    /// assessment and the SpO2 scale. Oxygen and consciousness count as observed
    /// at the newest reading's time.
    public var expectedNEWS2: NEWS2Score {
        func reading(_ code: String) -> Reading<Double>? {
            guard let sent = latest[code], let time = EventTime(rfc3339: sent.time) else { return nil }
            return Reading(Observation(code: code, value: sent.value, unit: sent.unit).normalized.value, at: time.date)
        }
        let at = latest.values.compactMap { EventTime(rfc3339: $0.time)?.date }.max() ?? Date()
        return NEWS2.score(NEWS2Observations(
            respirationRate: reading("9279-1"), spo2: reading("59408-5"),
            supplementalOxygen: supplementalOxygen.map { Reading($0, at: at) },
            systolicBloodPressure: reading("8480-6"), pulse: reading("8867-4"),
            consciousness: consciousness.flatMap(Consciousness.init(rawValue:)).map { Reading($0, at: at) },
            temperature: reading("8310-5"), scale: spo2Scale == 2 ? .scale2 : .scale1
        ))
    }
}
