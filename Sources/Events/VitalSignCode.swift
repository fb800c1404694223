/// The LOINC codes this contract knows, with their UCUM units and plausible
/// ranges (FHIR R4 vital-signs profile). Unknown codes are accepted with any unit
/// and kept; a known code with an unknown unit is refused.
public struct VitalSignCode: Sendable, Hashable {
    /// An accepted unit of a code, its inclusive range, and how to convert a value
    /// in it to the code's canonical unit.
    public struct Unit: Sendable, Hashable {
        /// UCUM unit, e.g. `/min`.
        public let ucum: String
        /// Plausible values, inclusive.
        public let range: ClosedRange<Double>
        /// Multiplier and offset to the canonical unit: `canonical = value * scale + offset`.
        let scale: Double
        let offset: Double

        /// Converts a value in this unit to the canonical unit.
        public func toCanonical(_ value: Double) -> Double { value * scale + offset }
    }

    /// The LOINC code, e.g. `8867-4`.
    public let code: String
    /// What it measures.
    public let name: String
    /// Accepted units; the first is canonical.
    public let units: [Unit]

    /// The canonical unit.
    public var canonicalUnit: Unit { units[0] }

    /// The unit named `ucum`, if accepted for this code.
    public func unit(_ ucum: String) -> Unit? { units.first { $0.ucum == ucum } }

    /// Heart rate / pulse.
    public static let heartRate = VitalSignCode(code: "8867-4", name: "heart rate", units: [.init(ucum: "/min", range: 0...400, scale: 1, offset: 0)])
    /// Respiratory rate.
    public static let respiratoryRate = VitalSignCode(code: "9279-1", name: "respiratory rate", units: [.init(ucum: "/min", range: 0...200, scale: 1, offset: 0)])
    /// Oxygen saturation by pulse oximetry.
    public static let oxygenSaturationPulseOximetry = VitalSignCode(code: "59408-5", name: "oxygen saturation (pulse oximetry)", units: [.init(ucum: "%", range: 0...100, scale: 1, offset: 0)])
    /// Oxygen saturation in arterial blood.
    public static let oxygenSaturation = VitalSignCode(code: "2708-6", name: "oxygen saturation", units: [.init(ucum: "%", range: 0...100, scale: 1, offset: 0)])
    /// Body temperature; `[degF]` is accepted and converted to `Cel`.
    public static let bodyTemperature = VitalSignCode(code: "8310-5", name: "body temperature", units: [
        .init(ucum: "Cel", range: 25...45, scale: 1, offset: 0),
        .init(ucum: "[degF]", range: 77...113, scale: 5.0 / 9.0, offset: -32.0 * 5.0 / 9.0),
    ])
    /// Systolic blood pressure.
    public static let systolicBloodPressure = VitalSignCode(code: "8480-6", name: "systolic blood pressure", units: [.init(ucum: "mm[Hg]", range: 0...400, scale: 1, offset: 0)])
    /// Diastolic blood pressure.
    public static let diastolicBloodPressure = VitalSignCode(code: "8462-4", name: "diastolic blood pressure", units: [.init(ucum: "mm[Hg]", range: 0...400, scale: 1, offset: 0)])
    /// Body weight.
    public static let bodyWeight = VitalSignCode(code: "29463-7", name: "body weight", units: [.init(ucum: "kg", range: 0...700, scale: 1, offset: 0)])
    /// Interstitial glucose (continuous glucose monitor).
    public static let interstitialGlucose = VitalSignCode(code: "99504-3", name: "glucose (interstitial)", units: [.init(ucum: "mg/dL", range: 0...1000, scale: 1, offset: 0)])

    /// The blood-pressure panel, which is not a value: its components are.
    public static let bloodPressurePanel = "85354-9"

    /// Every known code.
    public static let all: [VitalSignCode] = [
        heartRate, respiratoryRate, oxygenSaturationPulseOximetry, oxygenSaturation, bodyTemperature,
        systolicBloodPressure, diastolicBloodPressure, bodyWeight, interstitialGlucose,
    ]

    private static let byCode: [String: VitalSignCode] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })

    /// The known code `code`, if any.
    public static func known(_ code: String) -> VitalSignCode? { byCode[code] }

    private static let canonicalUnits: [String: String] = byCode.mapValues(\.canonicalUnit.ucum)

    /// The canonical UCUM unit of a known code.
    public static func canonicalUCUM(of code: String) -> String? { canonicalUnits[code] }

    /// True for a well-formed LOINC code: 1–8 digits, a dash, a check digit.
    public static func isWellFormed(_ code: String) -> Bool {
        var code = code
        return code.withUTF8 { utf8 in
            // digits (1…8), '-', one check digit
            let count = utf8.count
            guard count >= 3, count <= 10, utf8[count - 2] == UInt8(ascii: "-"), utf8[count - 1] &- UInt8(ascii: "0") < 10 else { return false }
            for index in 0..<(count - 2) where utf8[index] &- UInt8(ascii: "0") >= 10 {
                return false
            }
            return true
        }
    }
}
