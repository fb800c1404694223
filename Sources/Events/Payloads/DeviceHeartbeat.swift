/// `iomt.device.heartbeat.v1`: a device is alive.
public struct DeviceHeartbeat: EventData, Hashable {
    /// The device.
    public var deviceId: String
    /// Battery charge, 0…100 %.
    public var batteryPercent: Double?
    /// Radio signal strength, −200…0 dBm.
    public var signalDbm: Double?
    /// Firmware version.
    public var firmware: String?

    /// Creates the payload.
    public init(deviceId: String, batteryPercent: Double? = nil, signalDbm: Double? = nil, firmware: String? = nil) {
        self.deviceId = deviceId
        self.batteryPercent = batteryPercent
        self.signalDbm = signalDbm
        self.firmware = firmware
    }

    /// Keyed by deviceId.
    public var partitionKey: String { deviceId }

    /// Decodes and validates the payload.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> DeviceHeartbeat {
        var deviceId: String?, battery: Double?, signal: Double?, firmware: String?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("deviceId") { try FieldReader.set(&deviceId, FieldReader.identifier(member, "deviceId"), "deviceId") }
            else if key.isString("batteryPercent") { try FieldReader.set(&battery, FieldReader.number(member, "batteryPercent", in: 0...100), "batteryPercent") }
            else if key.isString("signalDbm") { try FieldReader.set(&signal, FieldReader.number(member, "signalDbm", in: -200...0), "signalDbm") }
            else if key.isString("firmware") { try FieldReader.set(&firmware, FieldReader.label(member, "firmware"), "firmware") }
        }
        return DeviceHeartbeat(deviceId: try FieldReader.required(deviceId, "deviceId"), batteryPercent: battery, signalDbm: signal, firmware: firmware)
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("deviceId", deviceId)
        writer.member("batteryPercent", batteryPercent)
        writer.member("signalDbm", signalDbm)
        writer.member("firmware", firmware)
        writer.endObject()
    }
}
