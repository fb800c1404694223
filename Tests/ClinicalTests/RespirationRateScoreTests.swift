import Clinical
import Testing

@Suite("Respiration rate sub-score")
struct RespirationRateScoreTests {
    @Test(
        "rates on either side of each band edge score their band",
        arguments: [(8.0, 3), (9, 1), (11, 1), (12, 0), (20, 0), (21, 2), (24, 2), (25, 3)]
    )
    func bandEdges(rate: Double, score: Int) {
        #expect(NEWS2.respirationRateScore(rate) == score)
    }

    @Test("a rate of 20.5 /min is charted as 21 and scores 2")
    func roundsBeforeScoring() {
        #expect(NEWS2.respirationRateScore(20.5) == 2)
    }

    @Test("a rate that is not a finite number cannot be scored", arguments: [Double.nan, .infinity])
    func nonFinite(rate: Double) {
        #expect(NEWS2.respirationRateScore(rate) == nil)
    }
}
