/// The clinical risk band of a NEWS2 score, which sets the urgency of the response.
public enum NEWS2Risk: String, Sendable, Codable, CaseIterable {
    /// Aggregate 0–4 with no parameter scoring 3: ward-based response.
    case low
    /// Aggregate below 5 but one parameter scoring 3 ("single red"): urgent
    /// ward-based response.
    case lowMedium = "low-medium"
    /// Aggregate 5–6: key threshold for urgent response.
    case medium
    /// Aggregate 7 or more: urgent or emergency response.
    case high

    /// The band of an aggregate score `total`, where `hasSingleRed` says whether any
    /// parameter scored 3.
    public init(total: Int, hasSingleRed: Bool) {
        self = switch total {
        case 7...: .high
        case 5...: .medium
        default: hasSingleRed ? .lowMedium : .low
        }
    }
}
