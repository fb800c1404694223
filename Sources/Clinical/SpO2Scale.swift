/// The NEWS2 oxygen-saturation scale a patient is scored on.
public enum SpO2Scale: Int, Sendable, Codable, CaseIterable {
    /// The default scale, for every patient unless a clinician prescribes scale 2.
    case scale1 = 1
    /// The scale for patients with a prescribed target saturation of 88–92 %
    /// (hypercapnic respiratory failure); only a clinician sets it.
    case scale2 = 2
}
