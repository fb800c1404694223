/// `iomt.device.assigned.v1` and `iomt.device.unassigned.v1`: a device attached
/// to or detached from a patient.
public struct DeviceAssignment: EventData, Hashable {
    /// The device.
    public var deviceId: String
    /// The patient.
    public var patientId: String

    /// Creates the payload.
    public init(deviceId: String, patientId: String) {
        self.deviceId = deviceId
        self.patientId = patientId
    }

    /// Keyed by deviceId, so the assignment precedes the device's later vitals.
    public var partitionKey: String { deviceId }

    /// Decodes and validates the payload.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> DeviceAssignment {
        var deviceId: String?, patientId: String?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("deviceId") { try FieldReader.set(&deviceId, FieldReader.identifier(member, "deviceId"), "deviceId") }
            else if key.isString("patientId") { try FieldReader.set(&patientId, FieldReader.identifier(member, "patientId"), "patientId") }
        }
        return DeviceAssignment(deviceId: try FieldReader.required(deviceId, "deviceId"), patientId: try FieldReader.required(patientId, "patientId"))
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("deviceId", deviceId)
        writer.member("patientId", patientId)
        writer.endObject()
    }
}
