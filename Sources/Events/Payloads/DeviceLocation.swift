/// `iomt.device.location.v1`: where a device is (RTLS).
public struct DeviceLocation: EventData, Hashable {
    /// The device.
    public var deviceId: String
    /// Facility.
    public var facilityId: String
    /// Hospital unit (ward).
    public var unit: String?
    /// Room.
    public var room: String?
    /// Bed.
    public var bed: String?
    /// RTLS zone.
    public var zone: String?

    /// Creates the payload.
    public init(deviceId: String, facilityId: String, unit: String? = nil, room: String? = nil, bed: String? = nil, zone: String? = nil) {
        self.deviceId = deviceId
        self.facilityId = facilityId
        self.unit = unit
        self.room = room
        self.bed = bed
        self.zone = zone
    }

    /// Keyed by deviceId.
    public var partitionKey: String { deviceId }

    /// Decodes and validates the payload.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> DeviceLocation {
        var deviceId: String?, facilityId: String?, unit: String?, room: String?, bed: String?, zone: String?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("deviceId") { try FieldReader.set(&deviceId, FieldReader.identifier(member, "deviceId"), "deviceId") }
            else if key.isString("facilityId") { try FieldReader.set(&facilityId, FieldReader.identifier(member, "facilityId"), "facilityId") }
            else if key.isString("unit") { try FieldReader.set(&unit, FieldReader.label(member, "unit"), "unit") }
            else if key.isString("room") { try FieldReader.set(&room, FieldReader.label(member, "room"), "room") }
            else if key.isString("bed") { try FieldReader.set(&bed, FieldReader.label(member, "bed"), "bed") }
            else if key.isString("zone") { try FieldReader.set(&zone, FieldReader.label(member, "zone"), "zone") }
        }
        return DeviceLocation(
            deviceId: try FieldReader.required(deviceId, "deviceId"),
            facilityId: try FieldReader.required(facilityId, "facilityId"),
            unit: unit, room: room, bed: bed, zone: zone
        )
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("deviceId", deviceId)
        writer.member("facilityId", facilityId)
        writer.member("unit", unit)
        writer.member("room", room)
        writer.member("bed", bed)
        writer.member("zone", zone)
        writer.endObject()
    }
}
