import Foundation

/// The National Early Warning Score 2 of the Royal College of Physicians (2017).
public enum NEWS2 {
    /// How old a reading may be, measured back from the newest reading, and still
    /// count: 60 minutes.
    public static let defaultFreshness: Duration = .seconds(3600)

    /// The NEWS2 score of `observations`.
    ///
    /// Readings are judged against the newest of them: a reading at most `freshness`
    /// older than the newest counts; an older one is stale and contributes nothing.
    /// The score is complete only when all seven parameters are scored from fresh
    /// readings. A parameter is missing when it was never recorded, its reading is
    /// stale or not a finite number, or — for SpO2 of 93 % or more on scale 2 — air or
    /// oxygen is not known from a fresh reading.
    public static func score(
        _ observations: NEWS2Observations,
        freshness: Duration = defaultFreshness
    ) -> NEWS2Score {
        let slots = Slots(observations, freshness: freshness)
        var subscores = [NEWS2Parameter: Int](minimumCapacity: NEWS2Parameter.allCases.count)
        var missing: [NEWS2Parameter] = []
        var stale: [NEWS2Parameter] = []
        for parameter in NEWS2Parameter.allCases {
            if let subscore = slots[parameter] { subscores[parameter] = subscore } else { missing.append(parameter) }
            if slots.isStale(parameter) { stale.append(parameter) }
        }
        return NEWS2Score(subscores: subscores, missing: missing, stale: stale, scale: observations.scale, at: slots.newest)
    }

    /// What alarm rules read of ``score(_:freshness:)`` — the total, whether the
    /// score is complete, the parameters scoring 3 — computed the same way
    /// without building the score's dictionary and arrays (the alerts worker
    /// scores a patient on every vitals event).
    public static func summary(
        _ observations: NEWS2Observations,
        freshness: Duration = defaultFreshness
    ) -> NEWS2Summary {
        let slots = Slots(observations, freshness: freshness)
        var summary = NEWS2Summary(total: 0, complete: true, redParameters: 0)
        for parameter in NEWS2Parameter.allCases {
            guard let subscore = slots[parameter] else {
                summary.complete = false
                continue
            }
            summary.total += subscore
            if subscore == 3 { summary.redParameters |= 1 << parameter.ordinal }
        }
        return summary
    }

    /// Each parameter's sub-score (none where it is missing), the stale
    /// parameters and the newest reading's time: what ``score(_:freshness:)`` and
    /// ``summary(_:freshness:)`` are built from, in fixed slots by
    /// ``NEWS2Parameter/ordinal``.
    private struct Slots {
        /// A bit per scored parameter, by ordinal.
        private var scored: UInt8 = 0
        /// Each scored parameter's sub-score (0–3) in two bits, by ordinal (bit
        /// fields rather than an `InlineArray`, which needs macOS 26).
        private var subscores: UInt16 = 0
        /// A bit per stale parameter, by ordinal.
        private var stale: UInt8 = 0
        /// The newest reading's time.
        private(set) var newest: Date?

        init(_ observations: NEWS2Observations, freshness: Duration) {
            for parameter in NEWS2Parameter.allCases {
                if let at = observations.observedAt(parameter), newest.map({ at > $0 }) ?? true { newest = at }
            }
            let newest = newest
            let window = freshness.timeInterval + clockTolerance
            func isStale(_ at: Date) -> Bool {
                guard let newest else { return false }
                return newest.timeIntervalSince(at) > window
            }
            func freshValue<Value>(_ reading: Reading<Value>?) -> Value? {
                guard let reading, !isStale(reading.at) else { return nil }
                return reading.value
            }

            let onOxygen = freshValue(observations.supplementalOxygen)
            set(.respirationRate, freshValue(observations.respirationRate).flatMap(respirationRateScore))
            set(.spo2, freshValue(observations.spo2).flatMap { spo2Score($0, scale: observations.scale, onOxygen: onOxygen) })
            set(.supplementalOxygen, onOxygen.map(supplementalOxygenScore))
            set(.systolicBloodPressure, freshValue(observations.systolicBloodPressure).flatMap(systolicBloodPressureScore))
            set(.pulse, freshValue(observations.pulse).flatMap(pulseScore))
            set(.consciousness, freshValue(observations.consciousness).map(consciousnessScore))
            set(.temperature, freshValue(observations.temperature).flatMap(temperatureScore))
            for parameter in NEWS2Parameter.allCases where observations.observedAt(parameter).map(isStale) ?? false {
                stale |= 1 << parameter.ordinal
            }
        }

        private mutating func set(_ parameter: NEWS2Parameter, _ subscore: Int?) {
            guard let subscore else { return }
            precondition((0...3).contains(subscore), "a NEWS2 sub-score is 0–3")
            scored |= 1 << parameter.ordinal
            subscores |= UInt16(subscore) << (2 * parameter.ordinal)
        }

        /// The sub-score of `parameter`, if it was scored.
        subscript(parameter: NEWS2Parameter) -> Int? {
            guard scored & (1 << parameter.ordinal) != 0 else { return nil }
            return Int(subscores >> (2 * parameter.ordinal) & 3)
        }

        /// Whether `parameter`'s latest reading is stale.
        func isStale(_ parameter: NEWS2Parameter) -> Bool { stale & (1 << parameter.ordinal) != 0 }
    }

    /// Slack for floating-point `Date` arithmetic, so that two times exactly one window
    /// apart are never judged to be further apart.
    private static let clockTolerance: TimeInterval = 1e-6
}

extension Duration {
    /// This duration in seconds, as a `TimeInterval`.
    fileprivate var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) * 1e-18
    }
}
