import Clinical
import Testing

@Suite("Minimum monitoring frequency")
struct MonitoringFrequencyTests {
    @Test(
        "the frequency follows the aggregate and any single red",
        arguments: [
            (0, false, MonitoringFrequency.twelveHourly),
            (1, false, .fourToSixHourly), (4, false, .fourToSixHourly),
            (3, true, .hourly), (4, true, .hourly), (5, false, .hourly), (6, false, .hourly),
            (7, false, .continuous), (20, true, .continuous),
        ]
    )
    func frequency(total: Int, hasSingleRed: Bool, frequency: MonitoringFrequency) {
        #expect(MonitoringFrequency(total: total, hasSingleRed: hasSingleRed) == frequency)
    }

    @Test("an aggregate of 0 calls for 12-hourly monitoring")
    func zero() {
        #expect(NEWS2.score(.allScoringZero()).monitoring == .twelveHourly)
    }

    @Test("an aggregate of 1–4 calls for 4–6-hourly monitoring")
    func lowAggregate() {
        var observations = NEWS2Observations.allScoringZero()
        observations.pulse = Reading(95, at: observed)
        #expect(NEWS2.score(observations).monitoring == .fourToSixHourly)
    }

    @Test("a single red with a low aggregate calls for hourly monitoring")
    func singleRed() {
        var observations = NEWS2Observations.allScoringZero()
        observations.temperature = Reading(34.8, at: observed)
        #expect(NEWS2.score(observations).monitoring == .hourly)
    }

    @Test("an aggregate of 5–6 calls for hourly monitoring")
    func mediumAggregate() {
        var observations = NEWS2Observations.allScoringZero()
        observations.systolicBloodPressure = Reading(95, at: observed)  // 2
        observations.pulse = Reading(120, at: observed)  // 2
        observations.spo2 = Reading(95, at: observed)  // 1
        #expect(NEWS2.score(observations).monitoring == .hourly)
    }

    @Test("an aggregate of 7 or more calls for continuous monitoring")
    func highAggregate() {
        var observations = NEWS2Observations.allScoringZero()
        observations.systolicBloodPressure = Reading(85, at: observed)  // 3
        observations.pulse = Reading(120, at: observed)  // 2
        observations.supplementalOxygen = Reading(true, at: observed)  // 2
        #expect(NEWS2.score(observations).monitoring == .continuous)
    }

    @Test("frequencies are spelled as the chart spells them")
    func spelling() {
        let spellings = MonitoringFrequency.allCases.map(\.rawValue)
        #expect(spellings == ["12-hourly", "4-6-hourly", "hourly", "continuous"])
    }
}
