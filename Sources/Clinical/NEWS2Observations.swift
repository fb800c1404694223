import Foundation

/// A patient's latest reading of each NEWS2 parameter, and the SpO2 scale they are
/// scored on. A parameter that was never recorded is `nil`: nothing is assumed for it.
public struct NEWS2Observations: Sendable, Equatable {
    /// Respiration rate, in breaths per minute.
    public var respirationRate: Reading<Double>?
    /// Peripheral oxygen saturation, in percent.
    public var spo2: Reading<Double>?
    /// Whether the patient is on supplemental oxygen (`true`) or breathing air (`false`).
    public var supplementalOxygen: Reading<Bool>?
    /// Systolic blood pressure, in mmHg.
    public var systolicBloodPressure: Reading<Double>?
    /// Pulse, in beats per minute.
    public var pulse: Reading<Double>?
    /// Level of consciousness (ACVPU).
    public var consciousness: Reading<Consciousness>?
    /// Body temperature, in °C; Fahrenheit readings must be converted by the caller.
    public var temperature: Reading<Double>?
    /// The SpO2 scale a clinician has set for the patient; scale 1 unless they set 2.
    public var scale: SpO2Scale

    /// Observations made of the given readings; parameters left out were never recorded.
    public init(
        respirationRate: Reading<Double>? = nil,
        spo2: Reading<Double>? = nil,
        supplementalOxygen: Reading<Bool>? = nil,
        systolicBloodPressure: Reading<Double>? = nil,
        pulse: Reading<Double>? = nil,
        consciousness: Reading<Consciousness>? = nil,
        temperature: Reading<Double>? = nil,
        scale: SpO2Scale = .scale1
    ) {
        self.respirationRate = respirationRate
        self.spo2 = spo2
        self.supplementalOxygen = supplementalOxygen
        self.systolicBloodPressure = systolicBloodPressure
        self.pulse = pulse
        self.consciousness = consciousness
        self.temperature = temperature
        self.scale = scale
    }

    /// When `parameter` was last observed, or `nil` if it never was.
    func observedAt(_ parameter: NEWS2Parameter) -> Date? {
        switch parameter {
        case .respirationRate: respirationRate?.at
        case .spo2: spo2?.at
        case .supplementalOxygen: supplementalOxygen?.at
        case .systolicBloodPressure: systolicBloodPressure?.at
        case .pulse: pulse?.at
        case .consciousness: consciousness?.at
        case .temperature: temperature?.at
        }
    }
}
