import Clinical
import Foundation
import Testing

@Suite("NEWS2 summary")
struct NEWS2SummaryTests {
    @Test("the summary of all-zero readings is a complete 0 with no parameter scoring 3")
    func allZero() {
        #expect(NEWS2.summary(.allScoringZero()) == NEWS2Summary(total: 0, complete: true, redParameters: 0))
    }

    @Test("the summary names each parameter scoring 3 by its ordinal, and an incomplete score is not complete")
    func redParametersAndGaps() {
        var observations = NEWS2Observations.allScoringZero()
        observations.respirationRate = Reading(26, at: observed)
        observations.consciousness = Reading(.voice, at: observed)
        observations.temperature = nil
        let summary = NEWS2.summary(observations)
        #expect(summary.total == 6)
        #expect(!summary.complete)
        #expect(summary.redParameters == 1 << NEWS2Parameter.respirationRate.ordinal | 1 << NEWS2Parameter.consciousness.ordinal)
    }

    @Test("over 20,000 generated observation sets (missing, stale, non-finite and boundary readings, both SpO2 scales) the summary equals what the full score says")
    func agreesWithScore() {
        var random = Generator(state: 2026)
        for _ in 0..<20_000 {
            let observations = random.observations()
            let score = NEWS2.score(observations)
            let summary = NEWS2.summary(observations)
            #expect(summary == NEWS2Summary(score), "\(observations)")
            #expect((summary.redParameters != 0) == score.hasSingleRed)
        }
    }
}

/// Seeded generator of observation sets: each parameter absent, at the newest
/// time, exactly one freshness window before it, stale (more than a window
/// before), or fresh in between, with values over and around each band.
private struct Generator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }

    mutating func pick<T>(_ values: [T]) -> T { values[Int(next() % UInt64(values.count))] }

    mutating func time() -> Date? {
        // Most sets have a reading at `observed`, so it is the newest and the
        // window is measured from it.
        switch next() % 6 {
        case 0: nil
        case 1: observed.addingTimeInterval(-3_600 - 1 - Double(next() % 600))  // stale
        case 2: observed.addingTimeInterval(-3_600)  // exactly one window before: fresh
        case 3: observed
        default: observed.addingTimeInterval(-Double(next() % 3_000))
        }
    }

    mutating func reading<T>(_ values: [T]) -> Reading<T>? {
        time().map { Reading(pick(values), at: $0) }
    }

    mutating func observations() -> NEWS2Observations {
        NEWS2Observations(
            respirationRate: reading([5, 8, 9, 11, 12, 20, 21, 24, 25, 40, .nan, .infinity]),
            spo2: reading([80, 83, 84, 85, 86, 87, 88, 91, 92, 93, 94, 95, 96, 97, 100, .nan]),
            supplementalOxygen: reading([true, false]),
            systolicBloodPressure: reading([60, 90, 91, 100, 101, 110, 111, 219, 220, 260, .nan]),
            pulse: reading([30, 40, 41, 50, 51, 90, 91, 110, 111, 130, 131, 180, -.infinity]),
            consciousness: reading(Consciousness.allCases),
            temperature: reading([33, 35.0, 35.1, 36.0, 36.1, 38.0, 38.1, 39.0, 39.1, 42, .nan]),
            scale: pick(SpO2Scale.allCases)
        )
    }
}
