import Events

/// A value with the time and id of the event that set it. Event time decides
/// which value is current; equal times are ordered by event id, so folding the
/// same events in any order gives the same state.
public struct Stamped<Value: Sendable & Equatable>: Sendable, Equatable {
    /// The value.
    public var value: Value
    /// When the event happened.
    public var at: EventTime
    /// The event's id.
    public var eventId: String

    /// Creates a stamped value.
    public init(_ value: Value, at: EventTime, eventId: String) {
        self.value = value
        self.at = at
        self.eventId = eventId
    }

    /// True when this value should replace `current`: a later time, or the same
    /// time and a greater event id. (Inlinable, so folds specialize it: it runs
    /// for every field of every event.)
    @inlinable
    public func supersedes(_ current: Stamped?) -> Bool {
        guard let currentTime = current?.at else { return true }
        if at != currentTime { return at > currentTime }
        return eventId > current!.eventId
    }
}

extension Optional {
    /// Replaces the wrapped stamped value with `candidate` if the candidate is newer.
    @inlinable
    public mutating func keepNewer<Value>(_ candidate: Stamped<Value>) where Wrapped == Stamped<Value> {
        if candidate.supersedes(self) { self = candidate }
    }
}

/// The JSON form of a stamped value in projection documents:
/// `{"value": …, "at": <µs since the epoch>, "eventId": …}`.
extension Stamped {
    /// Writes `name: {value, at, eventId}`, or nothing when `stamped` is nil.
    /// (Inlinable, so each record's writer specializes it: unspecialized, it
    /// looked up the generic type's metadata on every call.)
    @inlinable
    public static func write(_ stamped: Stamped?, as name: String, into writer: inout JSONWriter, value: (inout JSONWriter, Value) -> Void) {
        guard let stamped else { return }
        writer.key(name)
        writer.beginObject()
        writer.key("value")
        value(&writer, stamped.value)
        writer.member("at", Int(stamped.at.microseconds))
        writer.member("eventId", stamped.eventId)
        writer.endObject()
    }

    /// Reads what ``write(_:as:into:value:)`` wrote; nil when `json` is missing or
    /// incomplete, or `read` rejects the value.
    public init?(json: JSONValue?, value read: (JSONValue) -> Value?) {
        guard let json, let value = json["value"].flatMap(read), let at = json["at"]?.number, let eventID = json["eventId"]?.string else { return nil }
        self.init(value, at: EventTime(microseconds: Int64(at)), eventId: eventID)
    }
}
