import Clinical
import Foundation
import Testing

@Suite("Scoring a patient on SpO2 scale 2")
struct SpO2ScaleTwoScoringTests {
    @Test("SpO2 of 93 % or more with air or oxygen never recorded is unscored and listed missing")
    func unknownOxygen() {
        var observations = NEWS2Observations.allScoringZero(scale: .scale2)
        observations.spo2 = Reading(95, at: observed)
        observations.supplementalOxygen = nil
        let score = NEWS2.score(observations)
        #expect(!score.complete)
        #expect(score.subscores[.spo2] == nil)
        #expect(score.missing == [.spo2, .supplementalOxygen])
        #expect(score.stale.isEmpty)
    }

    @Test("SpO2 of 93 % or more with a stale air-or-oxygen reading is unscored and listed missing")
    func staleOxygen() {
        var observations = NEWS2Observations.allScoringZero(scale: .scale2)
        observations.spo2 = Reading(95, at: observed)
        observations.supplementalOxygen = Reading(true, at: observed.addingTimeInterval(-61 * 60))
        let score = NEWS2.score(observations)
        #expect(score.subscores[.spo2] == nil)
        #expect(score.missing == [.spo2, .supplementalOxygen])
        #expect(score.stale == [.supplementalOxygen])
    }

    @Test("SpO2 of 92 % or less is scored even when air or oxygen is unknown")
    func lowSaturationNeedsNoOxygen() {
        var observations = NEWS2Observations.allScoringZero(scale: .scale2)
        observations.spo2 = Reading(85, at: observed)
        observations.supplementalOxygen = nil
        let score = NEWS2.score(observations)
        #expect(score.subscores[.spo2] == 2)
        #expect(score.missing == [.supplementalOxygen])
    }

    @Test("SpO2 of 95 % on oxygen scores 2 for saturation and 2 for the oxygen")
    func onOxygen() {
        var observations = NEWS2Observations.allScoringZero(scale: .scale2)
        observations.spo2 = Reading(95, at: observed)
        observations.supplementalOxygen = Reading(true, at: observed)
        let score = NEWS2.score(observations)
        #expect(score.subscores[.spo2] == 2)
        #expect(score.subscores[.supplementalOxygen] == 2)
        #expect(score.total == 4)
    }

    @Test("SpO2 of 97 % on air scores 0 on scale 2")
    func onAir() {
        var observations = NEWS2Observations.allScoringZero(scale: .scale2)
        observations.spo2 = Reading(97, at: observed)
        let score = NEWS2.score(observations)
        #expect(score.complete)
        #expect(score.subscores[.spo2] == 0)
    }
}
