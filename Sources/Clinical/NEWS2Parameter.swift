/// One of the seven physiological parameters that make up a NEWS2 score, in the order
/// the Royal College of Physicians chart lists them.
public enum NEWS2Parameter: String, CaseIterable, Sendable, Codable {
    /// Respiration rate, in breaths per minute.
    case respirationRate
    /// Peripheral oxygen saturation (SpO2), in percent.
    case spo2
    /// Whether the patient breathes air or supplemental oxygen.
    case supplementalOxygen
    /// Systolic blood pressure, in mmHg.
    case systolicBloodPressure
    /// Pulse, in beats per minute.
    case pulse
    /// Level of consciousness on the ACVPU scale.
    case consciousness
    /// Body temperature, in °C.
    case temperature

    /// Hashes the case, not its raw value: a score keys its subscores by
    /// parameter, and patients are scored on every vitals event.
    public func hash(into hasher: inout Hasher) { hasher.combine(ordinal) }

    /// The same case.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.ordinal == rhs.ordinal }

    /// The case's place in `allCases` (a bit or slot per parameter).
    public var ordinal: Int {
        switch self {
        case .respirationRate: 0
        case .spo2: 1
        case .supplementalOxygen: 2
        case .systolicBloodPressure: 3
        case .pulse: 4
        case .consciousness: 5
        case .temperature: 6
        }
    }

    /// The precision the chart records this parameter at; `nil` for the parameters
    /// that are categories rather than numbers (air or oxygen, consciousness).
    public var chartPrecision: ChartPrecision? {
        switch self {
        case .respirationRate, .spo2, .systolicBloodPressure, .pulse: .wholeNumber
        case .temperature: .tenth
        case .supplementalOxygen, .consciousness: nil
        }
    }
}
