import Foundation

extension EventTime {
    /// Creates a time from a `Date`, to the microsecond.
    public init(_ date: Date) {
        self.init(secondsSinceEpoch: date.timeIntervalSince1970)
    }

    /// The same instant as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: secondsSinceEpoch) }
}
