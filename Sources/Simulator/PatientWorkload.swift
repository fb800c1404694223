import Events
import Foundation

/// SplitMix64: a small deterministic generator, so a seed gives the same events.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    var state: UInt64

    /// A generator starting from `seed`.
    public init(state seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A deterministic stream of patient and device events for tests and benchmarks:
/// admissions, assignments, vitals (most without a patient id, some up to ten
/// minutes late), reassignments, assessments, transfers, discharges and
/// heartbeats. The same seed gives the same events (ids differ per instance).
public struct PatientWorkload: Sendable {
    /// Number of patients (`pat-0` …).
    public let patients: Int
    /// Number of devices (`dev-0` …).
    public let devices: Int
    var random: SeededRandom
    var clock: Int64 = 1_764_064_800_000_000
    var sequence = 0
    let run = UUID().uuidString.prefix(8)

    /// A workload over `patients` patients and `devices` devices, its event times
    /// starting at `start` (default 2025-11-25T10:00:00Z).
    public init(patients: Int, devices: Int, seed: UInt64, start: EventTime = EventTime(microseconds: 1_764_064_800_000_000)) {
        self.clock = start.microseconds
        self.patients = patients
        self.devices = devices
        self.random = SeededRandom(state: seed)
    }

    func patient(_ index: Int) -> String { "pat-\(index)" }
    func device(_ index: Int) -> String { "dev-\(index)" }

    mutating func event(_ payload: EventPayload, lateBy: Int64 = 0) -> Event {
        sequence += 1
        clock += Int64.random(in: 1_000...50_000, using: &random)
        return Event(id: "\(run)-\(sequence)", source: "urn:test:workload", time: EventTime(microseconds: clock - lateBy), payload: payload)
    }

    /// Admissions and one assignment per device.
    public mutating func setup() -> [Event] {
        var events: [Event] = []
        for index in 0..<patients {
            events.append(event(.patientAdmitted(PatientAdmission(patientId: patient(index), facilityId: "fac-\(index % 3)", unit: "ward-\(index % 7)", bed: "\(index)"))))
        }
        for index in 0..<devices {
            events.append(event(.deviceAssigned(DeviceAssignment(deviceId: device(index), patientId: patient(index % patients)))))
        }
        return events
    }

    /// `count` further events.
    public mutating func stream(_ count: Int) -> [Event] {
        (0..<count).map { _ in next() }
    }

    /// The next event.
    public mutating func next() -> Event {
        let roll = Int.random(in: 0..<1000, using: &random)
        let deviceID = device(Int.random(in: 0..<devices, using: &random))
        let patientID = patient(Int.random(in: 0..<patients, using: &random))
        switch roll {
        case 0..<10:
            return event(.deviceAssigned(DeviceAssignment(deviceId: deviceID, patientId: patientID)))
        case 10..<15:
            return event(.deviceUnassigned(DeviceAssignment(deviceId: deviceID, patientId: patientID)))
        case 15..<35:
            return event(.patientAssessed(PatientAssessed(
                patientId: patientID,
                consciousness: ConsciousnessLevel.allCases.randomElement(using: &random),
                supplementalOxygen: Bool.random(using: &random),
                spo2Scale: roll < 20 ? 2 : nil
            )))
        case 35..<40:
            return event(.patientTransferred(PatientAdmission(patientId: patientID, facilityId: "fac-1", unit: "ward-\(roll % 9)")))
        case 40..<42:
            return event(.patientDischarged(PatientDischarged(patientId: patientID)))
        case 42..<60:
            return event(.deviceHeartbeat(DeviceHeartbeat(deviceId: deviceID, batteryPercent: Double(Int.random(in: 5...100, using: &random)))))
        case 60..<70:
            return event(.deviceAlarm(DeviceAlarm(
                deviceId: deviceID, code: ["ASY", "VTACH", "LEADOFF", "SPO2LOW"].randomElement(using: &random)!,
                priority: AlarmPriority.allCases.randomElement(using: &random)!, message: "device alarm"
            )))
        default:
            let observations = [
                Observation(code: "8867-4", value: Double(Int.random(in: 40...140, using: &random)), unit: "/min"),
                Observation(code: "9279-1", value: Double(Int.random(in: 8...30, using: &random)), unit: "/min"),
                Observation(code: "59408-5", value: Double(Int.random(in: 85...100, using: &random)), unit: "%"),
                Observation(code: "8480-6", value: Double(Int.random(in: 85...180, using: &random)), unit: "mm[Hg]"),
                roll % 2 == 0
                    ? Observation(code: "8310-5", value: Double(Int.random(in: 350...400, using: &random)) / 10, unit: "Cel")
                    : Observation(code: "8310-5", value: Double(Int.random(in: 950...1030, using: &random)) / 10, unit: "[degF]"),
            ]
            let late: Int64 = roll % 13 == 0 ? Int64.random(in: 1_000_000...600_000_000, using: &random) : 0
            let namesPatient = roll % 4 == 0
            return event(.vitalsObserved(VitalsObserved(deviceId: deviceID, patientId: namesPatient ? patientID : nil, observations: observations)), lateBy: late)
        }
    }
}
