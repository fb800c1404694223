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
        var newest: Date?
        for parameter in NEWS2Parameter.allCases {
            if let at = observations.observedAt(parameter), newest.map({ at > $0 }) ?? true { newest = at }
        }
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
        var subscores = [NEWS2Parameter: Int](minimumCapacity: NEWS2Parameter.allCases.count)
        subscores[.respirationRate] = freshValue(observations.respirationRate)
            .flatMap(respirationRateScore)
        subscores[.spo2] = freshValue(observations.spo2).flatMap {
            spo2Score($0, scale: observations.scale, onOxygen: onOxygen)
        }
        subscores[.supplementalOxygen] = onOxygen.map(supplementalOxygenScore)
        subscores[.systolicBloodPressure] = freshValue(observations.systolicBloodPressure)
            .flatMap(systolicBloodPressureScore)
        subscores[.pulse] = freshValue(observations.pulse).flatMap(pulseScore)
        subscores[.consciousness] = freshValue(observations.consciousness).map(consciousnessScore)
        subscores[.temperature] = freshValue(observations.temperature).flatMap(temperatureScore)

        return NEWS2Score(
            subscores: subscores,
            missing: NEWS2Parameter.allCases.filter { subscores[$0] == nil },
            stale: NEWS2Parameter.allCases.filter { observations.observedAt($0).map(isStale) ?? false },
            scale: observations.scale,
            at: newest
        )
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
