/// `iomt.patient.admitted.v1` and `iomt.patient.transferred.v1`: where a patient
/// is cared for.
public struct PatientAdmission: EventData, Hashable {
    /// The patient (pseudonymous).
    public var patientId: String
    /// Facility.
    public var facilityId: String
    /// Hospital unit (ward).
    public var unit: String
    /// Bed.
    public var bed: String?

    /// Creates the payload.
    public init(patientId: String, facilityId: String, unit: String, bed: String? = nil) {
        self.patientId = patientId
        self.facilityId = facilityId
        self.unit = unit
        self.bed = bed
    }

    /// Keyed by patientId.
    public var partitionKey: String { patientId }

    /// Decodes and validates the payload.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> PatientAdmission {
        var patientId: String?, facilityId: String?, unit: String?, bed: String?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("patientId") { try FieldReader.set(&patientId, FieldReader.identifier(member, "patientId"), "patientId") }
            else if key.isString("facilityId") { try FieldReader.set(&facilityId, FieldReader.identifier(member, "facilityId"), "facilityId") }
            else if key.isString("unit") { try FieldReader.set(&unit, FieldReader.label(member, "unit"), "unit") }
            else if key.isString("bed") { try FieldReader.set(&bed, FieldReader.label(member, "bed"), "bed") }
        }
        return PatientAdmission(
            patientId: try FieldReader.required(patientId, "patientId"),
            facilityId: try FieldReader.required(facilityId, "facilityId"),
            unit: try FieldReader.required(unit, "unit"),
            bed: bed
        )
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("patientId", patientId)
        writer.member("facilityId", facilityId)
        writer.member("unit", unit)
        writer.member("bed", bed)
        writer.endObject()
    }
}
