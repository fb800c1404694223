import Clinical
import Testing

@Suite("Temperature sub-score")
struct TemperatureScoreTests {
    @Test(
        "temperatures on either side of each band edge score their band",
        arguments: [
            (35.0, 3), (35.1, 1), (36.0, 1), (36.1, 0), (38.0, 0), (38.1, 1), (39.0, 1), (39.1, 2),
        ]
    )
    func bandEdges(celsius: Double, score: Int) {
        #expect(NEWS2.temperatureScore(celsius) == score)
    }

    @Test(
        "temperatures written with a hundredths 5 are charted a tenth up before scoring",
        arguments: [(35.05, 1), (36.05, 0), (38.05, 1), (39.05, 2)]
    )
    func roundsBeforeScoring(celsius: Double, score: Int) {
        #expect(NEWS2.temperatureScore(celsius) == score)
    }
}
