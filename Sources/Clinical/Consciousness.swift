/// A level of consciousness on the ACVPU scale, coded by its initial.
public enum Consciousness: String, Sendable, Codable, CaseIterable {
    /// Alert.
    case alert = "A"
    /// New confusion (new-onset or worsening disorientation, delirium).
    case newConfusion = "C"
    /// Responds to voice only.
    case voice = "V"
    /// Responds to pain only.
    case pain = "P"
    /// Unresponsive.
    case unresponsive = "U"
}
