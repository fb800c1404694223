import Clinical
import Testing

@Suite("Air or oxygen sub-score")
struct SupplementalOxygenScoreTests {
    @Test("breathing air scores 0")
    func air() {
        #expect(NEWS2.supplementalOxygenScore(false) == 0)
    }

    @Test("supplemental oxygen scores 2")
    func oxygen() {
        #expect(NEWS2.supplementalOxygenScore(true) == 2)
    }
}
