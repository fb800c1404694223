import Foundation

/// One recorded observation: a value and when it was observed.
public struct Reading<Value: Sendable & Equatable>: Sendable, Equatable {
    /// The observed value, in the unit the NEWS2 chart uses.
    public var value: Value
    /// When the observation was made at the bedside (not when it was received).
    public var at: Date

    /// A reading of `value` observed at `at`.
    public init(_ value: Value, at: Date) {
        self.value = value
        self.at = at
    }
}
