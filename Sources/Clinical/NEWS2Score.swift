import Foundation

/// A NEWS2 aggregate score with its per-parameter sub-scores, risk band and
/// completeness.
///
/// An incomplete score totals only the parameters that could be scored. Since every
/// sub-score is at least 0, its total, risk band and monitoring frequency are lower
/// bounds on those of the complete score.
public struct NEWS2Score: Sendable, Equatable {
    /// The sub-score of each parameter that was scored; parameters in ``missing`` have
    /// no entry.
    public var subscores: [NEWS2Parameter: Int]
    /// Every parameter that keeps the score from being complete — never recorded, not
    /// scoreable, or stale — in chart order.
    public var missing: [NEWS2Parameter]
    /// The parameters whose latest reading is older than the freshness window, in chart
    /// order; each is also in ``missing``.
    public var stale: [NEWS2Parameter]
    /// The SpO2 scale the score was computed on.
    public var scale: SpO2Scale
    /// The time of the newest reading the score was computed from; `nil` when nothing
    /// was recorded.
    public var at: Date?

    /// A score made of the given sub-scores and gaps.
    public init(
        subscores: [NEWS2Parameter: Int],
        missing: [NEWS2Parameter],
        stale: [NEWS2Parameter],
        scale: SpO2Scale,
        at: Date?
    ) {
        self.subscores = subscores
        self.missing = missing
        self.stale = stale
        self.scale = scale
        self.at = at
    }

    /// The aggregate score, 0–20: the sum of the sub-scores.
    public var total: Int { subscores.values.reduce(0, +) }

    /// Whether all seven parameters were scored from fresh readings.
    public var complete: Bool { missing.isEmpty }

    /// Whether any single parameter scored 3 ("single red").
    public var hasSingleRed: Bool { subscores.values.contains(3) }

    /// The clinical risk band.
    public var risk: NEWS2Risk { NEWS2Risk(total: total, hasSingleRed: hasSingleRed) }

    /// The minimum frequency of monitoring.
    public var monitoring: MonitoringFrequency {
        MonitoringFrequency(total: total, hasSingleRed: hasSingleRed)
    }
}

/// What alarm rules read of a NEWS2 score (``NEWS2/summary(_:freshness:)``).
public struct NEWS2Summary: Sendable, Equatable {
    /// The aggregate score: the sum of the sub-scores, as ``NEWS2Score/total``.
    public var total: Int
    /// Whether all seven parameters were scored from fresh readings, as
    /// ``NEWS2Score/complete``.
    public var complete: Bool
    /// A bit per parameter scoring 3, by ``NEWS2Parameter/ordinal``.
    public var redParameters: UInt8

    /// A summary of the given total, completeness and parameters scoring 3.
    public init(total: Int, complete: Bool, redParameters: UInt8) {
        self.total = total
        self.complete = complete
        self.redParameters = redParameters
    }

    /// The summary of `score`.
    public init(_ score: NEWS2Score) {
        self.init(
            total: score.total, complete: score.complete,
            redParameters: score.subscores.reduce(0) { mask, entry in entry.value == 3 ? mask | 1 << entry.key.ordinal : mask }
        )
    }
}
