import Clinical
import Foundation
import Testing

@Suite("Aggregating a NEWS2 score")
struct NEWS2ScoreTests {
    @Test("the total is the sum of the seven sub-scores, each reported by parameter")
    func sumsSubscores() {
        var observations = NEWS2Observations.allScoringZero()
        observations.respirationRate = Reading(22, at: observed)  // 2
        observations.pulse = Reading(95, at: observed)  // 1
        observations.temperature = Reading(35.5, at: observed)  // 1
        let score = NEWS2.score(observations)
        #expect(score.total == 4)
        #expect(score.subscores == [
            .respirationRate: 2, .spo2: 0, .supplementalOxygen: 0, .systolicBloodPressure: 0,
            .pulse: 1, .consciousness: 0, .temperature: 1,
        ])
    }

    @Test("the worst reading of every parameter totals 20")
    func maximum() {
        let observations = NEWS2Observations(
            respirationRate: Reading(30, at: observed),
            spo2: Reading(85, at: observed),
            supplementalOxygen: Reading(true, at: observed),
            systolicBloodPressure: Reading(80, at: observed),
            pulse: Reading(140, at: observed),
            consciousness: Reading(.unresponsive, at: observed),
            temperature: Reading(34.0, at: observed)
        )
        #expect(NEWS2.score(observations).total == 20)
    }

    @Test("the score is dated by its newest reading")
    func datedByNewestReading() {
        var observations = NEWS2Observations.allScoringZero(at: observed.addingTimeInterval(-600))
        observations.pulse = Reading(70, at: observed)
        #expect(NEWS2.score(observations).at == observed)
    }

    @Test("the score reports the SpO2 scale it was computed on", arguments: [SpO2Scale.scale1, .scale2])
    func reportsScale(scale: SpO2Scale) {
        #expect(NEWS2.score(.allScoringZero(scale: scale)).scale == scale)
    }
}
