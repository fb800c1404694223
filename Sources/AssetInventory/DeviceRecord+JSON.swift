import Events
import ProjectionKit

/// A device record as one JSON document (the `state` column). Times are
/// microseconds since the epoch.
extension DeviceRecord {
    /// The document.
    public var json: [UInt8] {
        var writer = JSONWriter(capacity: 512)
        writer.beginObject()
        Self.member("registration", registration, into: &writer) { writer, value in
            writer.beginObject()
            writer.member("kind", value.kind)
            writer.member("model", value.model)
            writer.member("manufacturer", value.manufacturer)
            writer.member("serialNumber", value.serialNumber)
            writer.member("facilityId", value.facilityId)
            writer.member("grade", value.grade.rawValue)
            writer.member("heartbeatIntervalSeconds", value.heartbeatIntervalSeconds)
            writer.endObject()
        }
        Self.member("placement", placement, into: &writer) { writer, value in
            writer.beginObject()
            writer.member("facilityId", value.facilityId)
            writer.member("unit", value.unit)
            writer.member("room", value.room)
            writer.member("bed", value.bed)
            writer.member("zone", value.zone)
            writer.endObject()
        }
        Self.member("condition", condition, into: &writer) { writer, value in
            writer.beginObject()
            writer.member("status", value.status.rawValue)
            writer.member("reason", value.reason)
            writer.endObject()
        }
        Self.member("battery", battery, into: &writer) { $0.number($1) }
        Self.member("signal", signal, into: &writer) { $0.number($1) }
        Self.member("firmware", firmware, into: &writer) { $0.string($1) }
        Self.member("assignment", assignment, into: &writer) { writer, value in
            if let value { writer.string(value) } else { writer.null() }
        }
        writer.member("lastSeenAt", lastSeenAt.map { Int($0.microseconds) })
        writer.member("eventsApplied", eventsApplied)
        writer.endObject()
        return writer.bytes
    }

    private static func member<V>(_ name: String, _ stamped: Stamped<V>?, into writer: inout JSONWriter, value: (inout JSONWriter, V) -> Void) {
        guard let stamped else { return }
        writer.key(name)
        writer.beginObject()
        writer.key("value")
        value(&writer, stamped.value)
        writer.member("at", Int(stamped.at.microseconds))
        writer.member("eventId", stamped.eventId)
        writer.endObject()
    }

    /// Reads a document written by ``json``.
    public init?(deviceId: String, json: JSONValue) {
        guard json.kind == .object else { return nil }
        self.init(deviceId: deviceId)
        func stamp<V>(_ value: JSONValue?, _ read: (JSONValue) -> V?) -> Stamped<V>? {
            guard let value, let inner = value["value"].flatMap(read), let at = value["at"]?.number, let eventID = value["eventId"]?.string else { return nil }
            return Stamped(inner, at: EventTime(microseconds: Int64(at)), eventId: eventID)
        }
        registration = stamp(json["registration"]) { value in
            guard let kind = value["kind"]?.string, let model = value["model"]?.string, let manufacturer = value["manufacturer"]?.string,
                  let serial = value["serialNumber"]?.string, let facility = value["facilityId"]?.string,
                  let grade = value["grade"]?.string.flatMap(DeviceGrade.init(rawValue:))
            else { return nil }
            return DeviceRegistration(kind: kind, model: model, manufacturer: manufacturer, serialNumber: serial, facilityId: facility, grade: grade,
                                      heartbeatIntervalSeconds: value["heartbeatIntervalSeconds"]?.number.map { Int($0) })
        }
        placement = stamp(json["placement"]) { value in
            value["facilityId"]?.string.map {
                DevicePlacement(facilityId: $0, unit: value["unit"]?.string, room: value["room"]?.string, bed: value["bed"]?.string, zone: value["zone"]?.string)
            }
        }
        condition = stamp(json["condition"]) { value in
            value["status"]?.string.flatMap(DeviceStatus.init(rawValue:)).map { DeviceCondition(status: $0, reason: value["reason"]?.string) }
        }
        battery = stamp(json["battery"]) { $0.number }
        signal = stamp(json["signal"]) { $0.number }
        firmware = stamp(json["firmware"]) { $0.string }
        assignment = stamp(json["assignment"]) { value -> String?? in value.isNull ? .some(nil) : value.string.map { .some($0) } }
        lastSeenAt = json["lastSeenAt"]?.number.map { EventTime(microseconds: Int64($0)) }
        eventsApplied = json["eventsApplied"]?.number.map { Int($0) } ?? 0
    }
}
