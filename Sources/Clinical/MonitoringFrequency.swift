/// The minimum frequency of clinical monitoring a NEWS2 score calls for.
public enum MonitoringFrequency: String, Sendable, Codable, CaseIterable {
    /// At least every 12 hours (aggregate 0).
    case twelveHourly = "12-hourly"
    /// At least every 4–6 hours (aggregate 1–4 with no single red).
    case fourToSixHourly = "4-6-hourly"
    /// At least hourly (a single red, or aggregate 5–6).
    case hourly
    /// Continuous monitoring of vital signs (aggregate 7 or more).
    case continuous

    /// The frequency for an aggregate score `total`, where `hasSingleRed` says whether
    /// any parameter scored 3.
    public init(total: Int, hasSingleRed: Bool) {
        if total >= 7 {
            self = .continuous
        } else if total >= 5 || hasSingleRed {
            self = .hourly
        } else if total > 0 {
            self = .fourToSixHourly
        } else {
            self = .twelveHourly
        }
    }
}
