// Each band table lists its bands from low to high, so a `...x` case covers the
// values above the previous case's bound, up to and including `x`.
extension NEWS2 {
    /// The sub-score of a respiration rate in breaths per minute, after rounding it to
    /// a whole number; `nil` if the rate is not a finite number.
    public static func respirationRateScore(_ breathsPerMinute: Double) -> Int? {
        guard let rate = charted(breathsPerMinute, as: .respirationRate) else { return nil }
        return switch rate {
        case ...8: 3
        case ...11: 1
        case ...20: 0
        case ...24: 2
        default: 3
        }
    }

    /// The sub-score of an oxygen saturation in percent, after rounding it to a whole
    /// number, on the patient's SpO2 scale.
    ///
    /// On scale 2 a saturation of 93 % or more scores by whether the patient is on
    /// supplemental oxygen (`onOxygen`); if that is unknown (`nil`) the saturation
    /// cannot be scored and the result is `nil`. Scale 1 ignores `onOxygen`. The result
    /// is also `nil` if the saturation is not a finite number.
    public static func spo2Score(_ percent: Double, scale: SpO2Scale, onOxygen: Bool?) -> Int? {
        guard let saturation = charted(percent, as: .spo2) else { return nil }
        switch scale {
        case .scale1:
            return switch saturation {
            case ...91: 3
            case ...93: 2
            case ...95: 1
            default: 0
            }
        case .scale2:
            return switch (saturation, onOxygen) {
            case (...83, _): 3
            case (...85, _): 2
            case (...87, _): 1
            case (...92, _): 0
            case (_, nil): nil
            case (_, false?): 0
            case (...94, true?): 1
            case (...96, true?): 2
            case (_, true?): 3
            }
        }
    }

    /// The sub-score for breathing supplemental oxygen (`true`, scores 2) or air
    /// (`false`, scores 0).
    public static func supplementalOxygenScore(_ onOxygen: Bool) -> Int {
        onOxygen ? 2 : 0
    }

    /// The sub-score of a systolic blood pressure in mmHg, after rounding it to a whole
    /// number; `nil` if the pressure is not a finite number.
    public static func systolicBloodPressureScore(_ mmHg: Double) -> Int? {
        guard let pressure = charted(mmHg, as: .systolicBloodPressure) else { return nil }
        return switch pressure {
        case ...90: 3
        case ...100: 2
        case ...110: 1
        case ...219: 0
        default: 3
        }
    }

    /// The sub-score of a pulse in beats per minute, after rounding it to a whole
    /// number; `nil` if the pulse is not a finite number.
    public static func pulseScore(_ beatsPerMinute: Double) -> Int? {
        guard let pulse = charted(beatsPerMinute, as: .pulse) else { return nil }
        return switch pulse {
        case ...40: 3
        case ...50: 1
        case ...90: 0
        case ...110: 1
        case ...130: 2
        default: 3
        }
    }

    /// The sub-score of a level of consciousness: 0 for alert, 3 for new confusion,
    /// voice, pain or unresponsive.
    public static func consciousnessScore(_ level: Consciousness) -> Int {
        switch level {
        case .alert: 0
        case .newConfusion, .voice, .pain, .unresponsive: 3
        }
    }

    /// The sub-score of a body temperature in °C, after rounding it to 0.1 °C; `nil` if
    /// the temperature is not a finite number.
    public static func temperatureScore(_ celsius: Double) -> Int? {
        guard let temperature = charted(celsius, as: .temperature) else { return nil }
        return switch temperature {
        case ...35.0: 3
        case ...36.0: 1
        case ...38.0: 0
        case ...39.0: 1
        default: 2
        }
    }

    /// `value` as the chart records it for `parameter`, or `nil` if it is not a finite
    /// number.
    private static func charted(_ value: Double, as parameter: NEWS2Parameter) -> Double? {
        guard value.isFinite, let precision = parameter.chartPrecision else { return nil }
        return precision.rounded(value)
    }
}
