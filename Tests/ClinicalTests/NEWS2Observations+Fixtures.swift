import Clinical
import Foundation

/// When the fixtures' newest readings are observed.
let observed = Date(timeIntervalSince1970: 1_750_000_000)

extension NEWS2Observations {
    /// Fresh readings of all seven parameters, each in the band that scores 0, observed
    /// at `time`.
    static func allScoringZero(
        at time: Date = observed,
        scale: SpO2Scale = .scale1
    ) -> NEWS2Observations {
        NEWS2Observations(
            respirationRate: Reading(16, at: time),
            spo2: Reading(97, at: time),
            supplementalOxygen: Reading(false, at: time),
            systolicBloodPressure: Reading(120, at: time),
            pulse: Reading(70, at: time),
            consciousness: Reading(.alert, at: time),
            temperature: Reading(37.0, at: time),
            scale: scale
        )
    }
}
