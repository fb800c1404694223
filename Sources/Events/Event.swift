/// A CloudEvents 1.0 event of this contract: the envelope attributes and the
/// typed `data`.
public struct Event: Sendable, Equatable {
    /// `id`: unique per `source`; with `source`, the de-duplication key.
    public var id: String
    /// `source`: who emitted the event, e.g. `urn:iomt:device:dev-mon-0042`.
    public var source: String
    /// `time`: when the thing happened (for vitals, the measurement time).
    public var time: EventTime
    /// `subject`, if given.
    public var subject: String?
    /// `dataschema`, if given.
    public var dataSchema: String?
    /// Extension attributes with string values, forwarded as `ce_<name>` headers.
    public var extensions: [String: String]
    /// `data`, typed.
    public var payload: EventPayload

    /// Creates an event.
    public init(id: String, source: String, time: EventTime, subject: String? = nil, dataSchema: String? = nil, extensions: [String: String] = [:], payload: EventPayload) {
        self.id = id
        self.source = source
        self.time = time
        self.subject = subject
        self.dataSchema = dataSchema
        self.extensions = extensions
        self.payload = payload
    }

    /// `type`.
    public var type: EventType { payload.type }

    /// The Kafka record key.
    public var partitionKey: String { payload.partitionKey }

    /// The CloudEvents `specversion` this contract uses.
    public static let specVersion = "1.0"

    /// Longest accepted `id` and `source`.
    static let attributeLimit = 256
}
