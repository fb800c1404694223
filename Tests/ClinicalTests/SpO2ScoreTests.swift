import Clinical
import Testing

@Suite("SpO2 sub-score")
struct SpO2ScoreTests {
    @Test(
        "on scale 1, saturations on either side of each band edge score their band",
        arguments: [(91.0, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)]
    )
    func scale1BandEdges(percent: Double, score: Int) {
        #expect(NEWS2.spo2Score(percent, scale: .scale1, onOxygen: nil) == score)
    }

    @Test("on scale 1, air or oxygen does not change the SpO2 sub-score", arguments: [true, false])
    func scale1IgnoresOxygen(onOxygen: Bool) {
        #expect(NEWS2.spo2Score(95, scale: .scale1, onOxygen: onOxygen) == 1)
    }

    @Test("on scale 1, 91.5 % is charted as 92 and scores 2")
    func roundsBeforeScoring() {
        #expect(NEWS2.spo2Score(91.5, scale: .scale1, onOxygen: nil) == 2)
    }

    /// Scale 2's bands below 93 %, which do not depend on air or oxygen.
    static let scale2LowBands: [(percent: Double, score: Int)] = [
        (83, 3), (84, 2), (85, 2), (86, 1), (87, 1), (88, 0), (92, 0),
    ]

    @Test(
        "on scale 2, saturations up to 92 % score their band whether on air, oxygen or unknown",
        arguments: scale2LowBands, [false, true, nil] as [Bool?]
    )
    func scale2LowBandEdges(band: (percent: Double, score: Int), onOxygen: Bool?) {
        #expect(NEWS2.spo2Score(band.percent, scale: .scale2, onOxygen: onOxygen) == band.score)
    }

    @Test("on scale 2 on air, saturations either side of 92/93 % and above score 0", arguments: [92.0, 93, 97, 100])
    func scale2OnAir(percent: Double) {
        #expect(NEWS2.spo2Score(percent, scale: .scale2, onOxygen: false) == 0)
    }

    @Test(
        "on scale 2, saturations on oxygen on either side of each band edge score their band",
        arguments: [(92.0, 0), (93, 1), (94, 1), (95, 2), (96, 2), (97, 3), (100, 3)]
    )
    func scale2OnOxygen(percent: Double, score: Int) {
        #expect(NEWS2.spo2Score(percent, scale: .scale2, onOxygen: true) == score)
    }

    @Test(
        "on scale 2, 93 % or more cannot be scored when air or oxygen is unknown",
        arguments: [93.0, 97, 100]
    )
    func scale2UnknownOxygen(percent: Double) {
        #expect(NEWS2.spo2Score(percent, scale: .scale2, onOxygen: nil) == nil)
    }

    @Test("on scale 2, 92.5 % is charted as 93 and needs air or oxygen to be known")
    func scale2RoundsBeforeChoosingRow() {
        #expect(NEWS2.spo2Score(92.5, scale: .scale2, onOxygen: nil) == nil)
        #expect(NEWS2.spo2Score(92.5, scale: .scale2, onOxygen: true) == 1)
    }
}
