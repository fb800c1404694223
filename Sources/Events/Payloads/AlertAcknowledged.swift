/// `iomt.alert.acknowledged.v1`: a named person acknowledged an alert. Carried on
/// the care-events topic, keyed by alertId (it names no patient).
public struct AlertAcknowledged: EventData, Hashable {
    /// The alert.
    public var alertId: String
    /// Who acknowledged it.
    public var by: String

    /// Creates the payload.
    public init(alertId: String, by: String) {
        self.alertId = alertId
        self.by = by
    }

    /// Keyed by alertId.
    public var partitionKey: String { alertId }

    /// Decodes and validates the payload.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> AlertAcknowledged {
        var alertId: String?, by: String?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("alertId") { try FieldReader.set(&alertId, FieldReader.identifier(member, "alertId"), "alertId") }
            else if key.isString("by") { try FieldReader.set(&by, FieldReader.label(member, "by"), "by") }
        }
        return AlertAcknowledged(alertId: try FieldReader.required(alertId, "alertId"), by: try FieldReader.required(by, "by"))
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("alertId", alertId)
        writer.member("by", by)
        writer.endObject()
    }
}
