import Events

/// The kinds of device in a simulated fleet, with what each measures and how it
/// is powered.
public enum SimulatedDeviceKind: String, Sendable, CaseIterable, Codable {
    /// Bedside multiparameter monitor: every NEWS2 vital sign, mains powered.
    case monitor = "multiparameter-monitor"
    /// Finger pulse oximeter: SpO2 and pulse, battery powered.
    case pulseOximeter = "pulse-oximeter"
    /// Consumer wearable: pulse, respiration and skin temperature (in °F), battery powered.
    case wearable
    /// Infusion pump: no vitals; heartbeats and occlusion alarms, battery backed.
    case infusionPump = "infusion-pump"
    /// Under-mattress bed sensor: respiration and pulse, mains powered.
    case bedSensor = "bed-sensor"

    var idPart: String {
        switch self {
        case .monitor: "mon"
        case .pulseOximeter: "oxi"
        case .wearable: "wear"
        case .infusionPump: "pump"
        case .bedSensor: "bed"
        }
    }

    var model: (manufacturer: String, model: String, grade: DeviceGrade) {
        switch self {
        case .monitor: ("Acme Medical", "VitalView 700", .medical)
        case .pulseOximeter: ("Acme Medical", "OxiClip 2", .medical)
        case .wearable: ("Pulsewear", "Band S3", .consumer)
        case .infusionPump: ("Fluida", "InfuSafe 9", .medical)
        case .bedSensor: ("Restwell", "BedSense", .medical)
        }
    }

    var battery: Bool { self == .pulseOximeter || self == .wearable || self == .infusionPump }

    /// The vital signs the device reports.
    var measures: [VitalSign] {
        switch self {
        case .monitor: [.pulse, .respiration, .spo2, .systolic, .diastolic, .temperature]
        case .pulseOximeter: [.spo2, .pulse]
        case .wearable: [.pulse, .respiration, .temperature]
        case .infusionPump: []
        case .bedSensor: [.respiration, .pulse]
        }
    }

    /// Technical alarms the device raises at random: code, priority, message.
    var technicalAlarm: (code: String, priority: AlarmPriority, message: String) {
        switch self {
        case .monitor: ("LEADS-OFF", .low, "ECG leads off")
        case .pulseOximeter: ("PROBE-OFF", .low, "SpO2 probe off the finger")
        case .wearable: ("NO-SKIN-CONTACT", .low, "band not in contact with the skin")
        case .infusionPump: ("OCCLUSION", .medium, "downstream occlusion")
        case .bedSensor: ("BED-EXIT", .medium, "patient left the bed")
        }
    }
}

/// A vital sign the simulator models, with its LOINC code.
enum VitalSign: Int, CaseIterable, Sendable {
    case pulse, respiration, spo2, systolic, diastolic, temperature

    var code: String {
        switch self {
        case .pulse: "8867-4"
        case .respiration: "9279-1"
        case .spo2: "59408-5"
        case .systolic: "8480-6"
        case .diastolic: "8462-4"
        case .temperature: "8310-5"
        }
    }

    /// The UCUM unit a device reports it in (DOMAIN.md).
    var unit: String {
        switch self {
        case .pulse, .respiration: "/min"
        case .spo2: "%"
        case .systolic, .diastolic: "mm[Hg]"
        case .temperature: "Cel"
        }
    }

    /// Half-width of the measurement noise. Chosen, with the baselines and the
    /// episode targets, so noise never moves a value across a NEWS2 band edge.
    var noise: Double {
        switch self {
        case .pulse: 3
        case .respiration: 1
        case .spo2: 0.5
        case .systolic: 3
        case .diastolic: 3
        case .temperature: 0.1
        }
    }

    /// Decimal places a device reports.
    var decimals: Int { self == .temperature ? 1 : 0 }
}

/// One value per ``VitalSign``.
struct Physiology: Sendable {
    var values: [Double]

    subscript(sign: VitalSign) -> Double {
        get { values[sign.rawValue] }
        set { values[sign.rawValue] = newValue }
    }

    /// A patient's resting values, every one in NEWS2's zero-score band even with
    /// noise. SpO2 scale 2 patients (hypercapnic respiratory failure) rest at
    /// 89–91 %, which scores 0 on scale 2.
    static func baseline(scale2: Bool, using random: inout SeededRandom) -> Physiology {
        var values = [Double](repeating: 0, count: VitalSign.allCases.count)
        values[VitalSign.pulse.rawValue] = Double.random(in: 62...82, using: &random)
        values[VitalSign.respiration.rawValue] = Double.random(in: 14...17, using: &random)
        values[VitalSign.spo2.rawValue] = scale2 ? Double.random(in: 89...91, using: &random) : Double.random(in: 97...98.4, using: &random)
        values[VitalSign.systolic.rawValue] = Double.random(in: 118...140, using: &random)
        values[VitalSign.diastolic.rawValue] = Double.random(in: 68...85, using: &random)
        values[VitalSign.temperature.rawValue] = Double.random(in: 36.5...37.3, using: &random)
        return Physiology(values: values)
    }

    /// The values a deterioration episode moves towards. Medium: respiration 22
    /// (2), SpO2 94–95 (1), pulse 100 (1), temperature 38.5 (1): NEWS2 5. High:
    /// respiration 26 (3), SpO2 89–90 (3), pulse 120 (2), systolic 106 (1),
    /// temperature 38.6 (1): NEWS2 10, before supplemental oxygen (+2).
    static func target(_ level: DeteriorationLevel, from baseline: Physiology) -> Physiology {
        var target = baseline
        switch level {
        case .medium:
            target[.respiration] = 22
            target[.spo2] = 94.5
            target[.pulse] = 100
            target[.temperature] = 38.5
        case .high:
            target[.respiration] = 26
            target[.spo2] = 89.5
            target[.pulse] = 120
            target[.systolic] = 106
            target[.diastolic] = 62
            target[.temperature] = 38.6
        }
        return target
    }

    /// `self` moved a `fraction` (0…1) of the way to `target`.
    func blended(towards target: Physiology, fraction: Double) -> Physiology {
        Physiology(values: zip(values, target.values).map { $0 + ($1 - $0) * fraction })
    }
}

/// How far a deterioration episode takes NEWS2.
public enum DeteriorationLevel: String, Sendable, Codable {
    /// NEWS2 5–6: the `news2.medium` alert rule.
    case medium
    /// NEWS2 7 or more: the `news2.high` alert rule.
    case high

    /// The alert rule the episode must open.
    public var alertRule: String { self == .medium ? "news2.medium" : "news2.high" }
}

/// A simulated device.
struct SimulatedDevice: Sendable {
    let id: String
    let kind: SimulatedDeviceKind
    let facility: String
    /// The bed slot the device belongs to, or nil for a spare that moves around.
    let slot: Int?
    var patient: String?
    var battery: Double?
    /// Battery drain in percent per second.
    var drain: Double
    var nextHeartbeat: Double
    var silentUntil: Double?
    var nextMove: Double?

    func isSilent(at elapsed: Double) -> Bool { silentUntil.map { elapsed < $0 } ?? false }
}

/// A deterioration episode in progress.
struct Episode: Sendable {
    let level: DeteriorationLevel
    let start: Double
    let ramp: Double
    let hold: Double
    let recovery: Double
    let report: Int
    var oxygenGiven = false

    /// How far towards the target the patient is `elapsed` seconds into the run
    /// (0 = baseline, 1 = target), or nil once the episode is over.
    func fraction(at elapsed: Double) -> Double? {
        let t = elapsed - start
        if t < 0 { return 0 }
        if t < ramp { return t / ramp }
        if t < ramp + hold { return 1 }
        if t < ramp + hold + recovery { return 1 - (t - ramp - hold) / recovery }
        return nil
    }
}

/// A bed and its occupant.
struct Slot: Sendable {
    let facility: String
    let unit: String
    let bed: String
    let scale2: Bool
    var patient: String?
    var baseline: Physiology
    var dischargeAt: Double?
    var readmitAt: Double?
    var nextAssessment: Double = 0
    var episode: Episode?
    var devices: [Int] = []
    var report: Int?
}
