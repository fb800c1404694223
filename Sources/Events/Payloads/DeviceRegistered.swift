/// `iomt.device.registered.v1`: a device joined the fleet.
public struct DeviceRegistered: EventData, Hashable {
    /// The device.
    public var deviceId: String
    /// Kind, e.g. `multiparameter-monitor`, `pulse-oximeter`, `infusion-pump`.
    public var kind: String
    /// Model name.
    public var model: String
    /// Manufacturer.
    public var manufacturer: String
    /// Serial number.
    public var serialNumber: String
    /// Firmware version, if reported.
    public var firmware: String?
    /// Facility that owns the device.
    public var facilityId: String
    /// Medical or consumer grade.
    public var grade: DeviceGrade
    /// Expected heartbeat interval (1…86,400 s); the default is 60 s.
    public var heartbeatIntervalSeconds: Int?

    /// Creates the payload.
    public init(deviceId: String, kind: String, model: String, manufacturer: String, serialNumber: String, firmware: String? = nil, facilityId: String, grade: DeviceGrade, heartbeatIntervalSeconds: Int? = nil) {
        self.deviceId = deviceId
        self.kind = kind
        self.model = model
        self.manufacturer = manufacturer
        self.serialNumber = serialNumber
        self.firmware = firmware
        self.facilityId = facilityId
        self.grade = grade
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
    }

    /// Keyed by deviceId.
    public var partitionKey: String { deviceId }

    /// Decodes and validates the payload.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> DeviceRegistered {
        var deviceId: String?, kind: String?, model: String?, manufacturer: String?, serialNumber: String?
        var firmware: String?, facilityId: String?, grade: DeviceGrade?, interval: Int?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("deviceId") { try FieldReader.set(&deviceId, FieldReader.identifier(member, "deviceId"), "deviceId") }
            else if key.isString("kind") { try FieldReader.set(&kind, FieldReader.label(member, "kind"), "kind") }
            else if key.isString("model") { try FieldReader.set(&model, FieldReader.label(member, "model"), "model") }
            else if key.isString("manufacturer") { try FieldReader.set(&manufacturer, FieldReader.label(member, "manufacturer"), "manufacturer") }
            else if key.isString("serialNumber") { try FieldReader.set(&serialNumber, FieldReader.label(member, "serialNumber"), "serialNumber") }
            else if key.isString("firmware") { try FieldReader.set(&firmware, FieldReader.label(member, "firmware"), "firmware") }
            else if key.isString("facilityId") { try FieldReader.set(&facilityId, FieldReader.identifier(member, "facilityId"), "facilityId") }
            else if key.isString("grade") { try FieldReader.set(&grade, FieldReader.choice(member, "grade", as: DeviceGrade.self), "grade") }
            else if key.isString("heartbeatIntervalSeconds") {
                try FieldReader.set(&interval, FieldReader.integer(member, "heartbeatIntervalSeconds", in: 1...86_400), "heartbeatIntervalSeconds")
            }
        }
        return DeviceRegistered(
            deviceId: try FieldReader.required(deviceId, "deviceId"),
            kind: try FieldReader.required(kind, "kind"),
            model: try FieldReader.required(model, "model"),
            manufacturer: try FieldReader.required(manufacturer, "manufacturer"),
            serialNumber: try FieldReader.required(serialNumber, "serialNumber"),
            firmware: firmware,
            facilityId: try FieldReader.required(facilityId, "facilityId"),
            grade: try FieldReader.required(grade, "grade"),
            heartbeatIntervalSeconds: interval
        )
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("deviceId", deviceId)
        writer.member("kind", kind)
        writer.member("model", model)
        writer.member("manufacturer", manufacturer)
        writer.member("serialNumber", serialNumber)
        writer.member("firmware", firmware)
        writer.member("facilityId", facilityId)
        writer.member("grade", grade.rawValue)
        writer.member("heartbeatIntervalSeconds", heartbeatIntervalSeconds)
        writer.endObject()
    }
}
