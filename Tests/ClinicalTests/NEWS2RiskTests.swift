import Clinical
import Testing

@Suite("NEWS2 risk band")
struct NEWS2RiskTests {
    @Test(
        "the band follows the aggregate and any single red",
        arguments: [
            (0, false, NEWS2Risk.low), (4, false, .low),
            (3, true, .lowMedium), (4, true, .lowMedium),
            (5, false, .medium), (6, false, .medium), (5, true, .medium), (6, true, .medium),
            (7, false, .high), (7, true, .high), (20, true, .high),
        ]
    )
    func band(total: Int, hasSingleRed: Bool, risk: NEWS2Risk) {
        #expect(NEWS2Risk(total: total, hasSingleRed: hasSingleRed) == risk)
    }

    @Test("an aggregate of 0 is low risk")
    func zeroIsLow() {
        #expect(NEWS2.score(.allScoringZero()).risk == .low)
    }

    @Test("an aggregate of 1–4 with no single red is low risk")
    func lowAggregateIsLow() {
        var observations = NEWS2Observations.allScoringZero()
        observations.respirationRate = Reading(22, at: observed)  // 2
        observations.pulse = Reading(95, at: observed)  // 1
        observations.temperature = Reading(38.5, at: observed)  // 1
        let score = NEWS2.score(observations)
        #expect(score.total == 4)
        #expect(!score.hasSingleRed)
        #expect(score.risk == .low)
    }

    @Test("a single parameter scoring 3 with a low aggregate is low-medium risk")
    func singleRedWithLowTotal() {
        var observations = NEWS2Observations.allScoringZero()
        observations.consciousness = Reading(.voice, at: observed)
        let score = NEWS2.score(observations)
        #expect(score.total == 3)
        #expect(score.hasSingleRed)
        #expect(score.risk == .lowMedium)
    }

    @Test("a single red with an aggregate of 5 is medium risk")
    func singleRedWithMediumTotal() {
        var observations = NEWS2Observations.allScoringZero()
        observations.consciousness = Reading(.voice, at: observed)  // 3
        observations.pulse = Reading(115, at: observed)  // 2
        let score = NEWS2.score(observations)
        #expect(score.total == 5)
        #expect(score.hasSingleRed)
        #expect(score.risk == .medium)
    }

    @Test("an aggregate of 5–6 with no single red is medium risk")
    func mediumAggregate() {
        var observations = NEWS2Observations.allScoringZero()
        observations.respirationRate = Reading(22, at: observed)  // 2
        observations.pulse = Reading(115, at: observed)  // 2
        observations.temperature = Reading(38.5, at: observed)  // 1
        let score = NEWS2.score(observations)
        #expect(score.total == 5)
        #expect(!score.hasSingleRed)
        #expect(score.risk == .medium)
    }

    @Test("an aggregate of 7 or more is high risk")
    func highAggregate() {
        var observations = NEWS2Observations.allScoringZero()
        observations.consciousness = Reading(.voice, at: observed)  // 3
        observations.pulse = Reading(115, at: observed)  // 2
        observations.respirationRate = Reading(22, at: observed)  // 2
        let score = NEWS2.score(observations)
        #expect(score.total == 7)
        #expect(score.risk == .high)
    }

    @Test("risk bands are spelled as the query API spells them")
    func spelling() {
        #expect(NEWS2Risk.allCases.map(\.rawValue) == ["low", "low-medium", "medium", "high"])
    }
}
