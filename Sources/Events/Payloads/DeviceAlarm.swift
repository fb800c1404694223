/// `iomt.device.alarm.v1`: a device raised an alarm.
public struct DeviceAlarm: EventData, Hashable {
    /// The device.
    public var deviceId: String
    /// The patient, when the device knows it.
    public var patientId: String?
    /// The device's alarm code.
    public var code: String
    /// Priority as set by the device.
    public var priority: AlarmPriority
    /// Human-readable message.
    public var message: String

    /// Creates the payload.
    public init(deviceId: String, patientId: String? = nil, code: String, priority: AlarmPriority, message: String) {
        self.deviceId = deviceId
        self.patientId = patientId
        self.code = code
        self.priority = priority
        self.message = message
    }

    /// Keyed by deviceId.
    public var partitionKey: String { deviceId }

    /// Decodes and validates the payload.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> DeviceAlarm {
        var deviceId: String?, patientId: String?, code: String?, priority: AlarmPriority?, message: String?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("deviceId") { try FieldReader.set(&deviceId, FieldReader.identifier(member, "deviceId"), "deviceId") }
            else if key.isString("patientId") { try FieldReader.set(&patientId, FieldReader.identifier(member, "patientId"), "patientId") }
            else if key.isString("code") { try FieldReader.set(&code, FieldReader.label(member, "code"), "code") }
            else if key.isString("priority") { try FieldReader.set(&priority, FieldReader.choice(member, "priority", as: AlarmPriority.self), "priority") }
            else if key.isString("message") { try FieldReader.set(&message, FieldReader.text(member, "message"), "message") }
        }
        return DeviceAlarm(
            deviceId: try FieldReader.required(deviceId, "deviceId"),
            patientId: patientId,
            code: try FieldReader.required(code, "code"),
            priority: try FieldReader.required(priority, "priority"),
            message: try FieldReader.required(message, "message")
        )
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("deviceId", deviceId)
        writer.member("patientId", patientId)
        writer.member("code", code)
        writer.member("priority", priority.rawValue)
        writer.member("message", message)
        writer.endObject()
    }
}
