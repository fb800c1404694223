/// `iomt.device.status.v1`: a device's operational status changed.
public struct DeviceStatusChanged: EventData, Hashable {
    /// The device.
    public var deviceId: String
    /// The new status.
    public var status: DeviceStatus
    /// Why, in words.
    public var reason: String?

    /// Creates the payload.
    public init(deviceId: String, status: DeviceStatus, reason: String? = nil) {
        self.deviceId = deviceId
        self.status = status
        self.reason = reason
    }

    /// Keyed by deviceId.
    public var partitionKey: String { deviceId }

    /// Decodes and validates the payload.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> DeviceStatusChanged {
        var deviceId: String?, status: DeviceStatus?, reason: String?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("deviceId") { try FieldReader.set(&deviceId, FieldReader.identifier(member, "deviceId"), "deviceId") }
            else if key.isString("status") { try FieldReader.set(&status, FieldReader.choice(member, "status", as: DeviceStatus.self), "status") }
            else if key.isString("reason") { try FieldReader.set(&reason, FieldReader.text(member, "reason"), "reason") }
        }
        return DeviceStatusChanged(deviceId: try FieldReader.required(deviceId, "deviceId"), status: try FieldReader.required(status, "status"), reason: reason)
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("deviceId", deviceId)
        writer.member("status", status.rawValue)
        writer.member("reason", reason)
        writer.endObject()
    }
}
