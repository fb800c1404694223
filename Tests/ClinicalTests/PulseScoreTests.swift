import Clinical
import Testing

@Suite("Pulse sub-score")
struct PulseScoreTests {
    @Test(
        "pulses on either side of each band edge score their band",
        arguments: [
            (40.0, 3), (41, 1), (50, 1), (51, 0), (90, 0), (91, 1), (110, 1), (111, 2), (130, 2), (131, 3),
        ]
    )
    func bandEdges(beatsPerMinute: Double, score: Int) {
        #expect(NEWS2.pulseScore(beatsPerMinute) == score)
    }

    @Test("a pulse of 40.5 /min is charted as 41 and scores 1")
    func roundsBeforeScoring() {
        #expect(NEWS2.pulseScore(40.5) == 1)
    }
}
