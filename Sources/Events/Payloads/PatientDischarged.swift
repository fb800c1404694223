/// `iomt.patient.discharged.v1`: a patient left care.
public struct PatientDischarged: EventData, Hashable {
    /// The patient.
    public var patientId: String

    /// Creates the payload.
    public init(patientId: String) {
        self.patientId = patientId
    }

    /// Keyed by patientId.
    public var partitionKey: String { patientId }

    /// Decodes and validates the payload.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> PatientDischarged {
        var patientId: String?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("patientId") { try FieldReader.set(&patientId, FieldReader.identifier(member, "patientId"), "patientId") }
        }
        return PatientDischarged(patientId: try FieldReader.required(patientId, "patientId"))
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("patientId", patientId)
        writer.endObject()
    }
}
