import Clinical
import Testing

@Suite("Systolic blood pressure sub-score")
struct SystolicBloodPressureScoreTests {
    @Test(
        "pressures on either side of each band edge score their band",
        arguments: [(90.0, 3), (91, 2), (100, 2), (101, 1), (110, 1), (111, 0), (219, 0), (220, 3)]
    )
    func bandEdges(mmHg: Double, score: Int) {
        #expect(NEWS2.systolicBloodPressureScore(mmHg) == score)
    }

    @Test("a pressure of 90.5 mmHg is charted as 91 and scores 2")
    func roundsBeforeScoring() {
        #expect(NEWS2.systolicBloodPressureScore(90.5) == 2)
    }
}
