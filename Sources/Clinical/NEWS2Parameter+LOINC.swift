extension NEWS2Parameter {
    /// The NEWS2 parameter a vital-sign LOINC code measures, or `nil` for a code that
    /// does not feed NEWS2.
    ///
    /// Recognised codes: 9279-1 (respiratory rate), 59408-5 and 2708-6 (oxygen
    /// saturation), 8480-6 (systolic blood pressure), 8867-4 (heart rate) and 8310-5
    /// (body temperature). Supplemental oxygen and consciousness are charted by
    /// clinicians, not measured under a LOINC code, so no code maps to them.
    ///
    /// The code says nothing about the unit: values must already be in the chart's
    /// units (breaths and beats per minute, %, mmHg, °C) — normalising them, such as
    /// converting `[degF]` to °C, is the event contract's job.
    public init?(loinc code: String) {
        switch code {
        case "9279-1": self = .respirationRate
        case "59408-5", "2708-6": self = .spo2
        case "8480-6": self = .systolicBloodPressure
        case "8867-4": self = .pulse
        case "8310-5": self = .temperature
        default: return nil
        }
    }
}
