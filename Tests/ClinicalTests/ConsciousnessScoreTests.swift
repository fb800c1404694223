import Clinical
import Testing

@Suite("Consciousness sub-score")
struct ConsciousnessScoreTests {
    @Test("an alert patient scores 0")
    func alert() {
        #expect(NEWS2.consciousnessScore(.alert) == 0)
    }

    @Test(
        "new confusion, voice, pain and unresponsive each score 3",
        arguments: [Consciousness.newConfusion, .voice, .pain, .unresponsive]
    )
    func notAlert(level: Consciousness) {
        #expect(NEWS2.consciousnessScore(level) == 3)
    }
}
