import Clinical
import Foundation
import Testing

@Suite("Completeness of a NEWS2 score")
struct NEWS2CompletenessTests {
    @Test("fresh readings of all seven parameters make a complete score")
    func allFresh() {
        let score = NEWS2.score(.allScoringZero())
        #expect(score.complete)
        #expect(score.missing.isEmpty)
        #expect(score.stale.isEmpty)
        #expect(Set(score.subscores.keys) == Set(NEWS2Parameter.allCases))
    }

    @Test("with nothing recorded, every parameter is missing and the score is undated")
    func nothingRecorded() {
        let score = NEWS2.score(NEWS2Observations())
        #expect(!score.complete)
        #expect(score.missing == NEWS2Parameter.allCases)
        #expect(score.stale.isEmpty)
        #expect(score.subscores.isEmpty)
        #expect(score.total == 0)
        #expect(score.at == nil)
    }

    @Test("a consciousness level never recorded is missing, not assumed alert")
    func consciousnessNeverAssumedAlert() {
        var observations = NEWS2Observations.allScoringZero()
        observations.consciousness = nil
        let score = NEWS2.score(observations)
        #expect(!score.complete)
        #expect(score.missing == [.consciousness])
        #expect(score.subscores[.consciousness] == nil)
    }

    @Test("air or oxygen never recorded is missing, not assumed air")
    func oxygenNeverAssumedAir() {
        var observations = NEWS2Observations.allScoringZero()
        observations.supplementalOxygen = nil
        let score = NEWS2.score(observations)
        #expect(!score.complete)
        #expect(score.missing == [.supplementalOxygen])
        #expect(score.subscores[.supplementalOxygen] == nil)
    }

    @Test("missing parameters are listed in chart order")
    func missingInChartOrder() {
        let observations = NEWS2Observations(
            spo2: Reading(97, at: observed),
            pulse: Reading(70, at: observed)
        )
        #expect(NEWS2.score(observations).missing == [
            .respirationRate, .supplementalOxygen, .systolicBloodPressure, .consciousness, .temperature,
        ])
    }

    @Test("an incomplete score totals the parameters that were scored")
    func partialTotal() {
        let observations = NEWS2Observations(
            respirationRate: Reading(25, at: observed),
            pulse: Reading(115, at: observed)
        )
        let score = NEWS2.score(observations)
        #expect(!score.complete)
        #expect(score.total == 5)
        #expect(score.subscores == [.respirationRate: 3, .pulse: 2])
    }

    @Test("a reading 61 minutes older than the newest is stale, missing and left out of the total")
    func staleReading() {
        var observations = NEWS2Observations.allScoringZero()
        observations.pulse = Reading(131, at: observed.addingTimeInterval(-61 * 60))
        let score = NEWS2.score(observations)
        #expect(!score.complete)
        #expect(score.stale == [.pulse])
        #expect(score.missing == [.pulse])
        #expect(score.subscores[.pulse] == nil)
        #expect(score.total == 0)
    }

    @Test("a reading exactly 60 minutes older than the newest is still fresh")
    func windowEdgeIsFresh() {
        var observations = NEWS2Observations.allScoringZero()
        observations.pulse = Reading(131, at: observed.addingTimeInterval(-60 * 60))
        let score = NEWS2.score(observations)
        #expect(score.complete)
        #expect(score.subscores[.pulse] == 3)
    }

    @Test("a reading exactly one window older is fresh even when times carry fractional seconds")
    func windowEdgeWithFractionalSeconds() {
        // Written one hour apart, but as Doubles on either side of 2^29 s these two
        // times differ by 3600.00000006 s.
        let newest = Date(timeIntervalSinceReferenceDate: 536_872_000.001)
        var observations = NEWS2Observations.allScoringZero(at: newest)
        observations.pulse = Reading(70, at: Date(timeIntervalSinceReferenceDate: 536_868_400.001))
        #expect(newest.timeIntervalSince(observations.pulse!.at) > 3600)
        #expect(NEWS2.score(observations).complete)
    }

    @Test("the freshness window is measured from the newest reading, not from the clock")
    func windowFromNewestReading() {
        let longAgo = Date(timeIntervalSinceReferenceDate: 0)
        #expect(NEWS2.score(.allScoringZero(at: longAgo)).complete)
    }

    @Test("a shorter freshness window makes an older reading stale")
    func configurableWindow() {
        var observations = NEWS2Observations.allScoringZero()
        observations.temperature = Reading(37.0, at: observed.addingTimeInterval(-16 * 60))
        let score = NEWS2.score(observations, freshness: .seconds(15 * 60))
        #expect(score.stale == [.temperature])
        #expect(score.missing == [.temperature])
    }

    @Test("a reading that is not a finite number is missing but not stale")
    func nonFiniteReading() {
        var observations = NEWS2Observations.allScoringZero()
        observations.systolicBloodPressure = Reading(.nan, at: observed)
        let score = NEWS2.score(observations)
        #expect(score.missing == [.systolicBloodPressure])
        #expect(score.stale.isEmpty)
    }
}
