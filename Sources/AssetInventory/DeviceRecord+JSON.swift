import Events
import ProjectionKit

/// A device record as one JSON document (the `state` column). Times are
/// microseconds since the epoch.
extension DeviceRecord {
    /// The document.
    public var json: [UInt8] {
        var writer = JSONWriter(capacity: 512)
        write(to: &writer)
        return writer.bytes
    }

    /// Writes the document as the writer's next value.
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        Stamped.write(registration, as: "registration", into: &writer) { writer, value in
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
        Stamped.write(placement, as: "placement", into: &writer) { writer, value in
            writer.beginObject()
            writer.member("facilityId", value.facilityId)
            writer.member("unit", value.unit)
            writer.member("room", value.room)
            writer.member("bed", value.bed)
            writer.member("zone", value.zone)
            writer.endObject()
        }
        Stamped.write(condition, as: "condition", into: &writer) { writer, value in
            writer.beginObject()
            writer.member("status", value.status.rawValue)
            writer.member("reason", value.reason)
            writer.endObject()
        }
        Stamped.write(battery, as: "battery", into: &writer) { $0.number($1) }
        Stamped.write(signal, as: "signal", into: &writer) { $0.number($1) }
        Stamped.write(firmware, as: "firmware", into: &writer) { $0.string($1) }
        Stamped.write(assignment, as: "assignment", into: &writer) { writer, value in
            if let value { writer.string(value) } else { writer.null() }
        }
        writer.member("lastSeenAt", lastSeenAt.map { Int($0.microseconds) })
        writer.member("eventsApplied", eventsApplied)
        writer.endObject()
    }


    /// Reads a document written by ``json``.
    public init?(deviceId: String, json: JSONValue) {
        guard json.kind == .object else { return nil }
        self.init(deviceId: deviceId)
        registration = Stamped(json: json["registration"]) { value in
            guard let kind = value["kind"]?.string, let model = value["model"]?.string, let manufacturer = value["manufacturer"]?.string,
                  let serial = value["serialNumber"]?.string, let facility = value["facilityId"]?.string,
                  let grade = value["grade"]?.string.flatMap(DeviceGrade.init(rawValue:))
            else { return nil }
            return DeviceRegistration(kind: kind, model: model, manufacturer: manufacturer, serialNumber: serial, facilityId: facility, grade: grade,
                                      heartbeatIntervalSeconds: value["heartbeatIntervalSeconds"]?.number.map { Int($0) })
        }
        placement = Stamped(json: json["placement"]) { value in
            value["facilityId"]?.string.map {
                DevicePlacement(facilityId: $0, unit: value["unit"]?.string, room: value["room"]?.string, bed: value["bed"]?.string, zone: value["zone"]?.string)
            }
        }
        condition = Stamped(json: json["condition"]) { value in
            value["status"]?.string.flatMap(DeviceStatus.init(rawValue:)).map { DeviceCondition(status: $0, reason: value["reason"]?.string) }
        }
        battery = Stamped(json: json["battery"]) { $0.number }
        signal = Stamped(json: json["signal"]) { $0.number }
        firmware = Stamped(json: json["firmware"]) { $0.string }
        assignment = Stamped(json: json["assignment"]) { value -> String?? in value.isNull ? .some(nil) : value.string.map { .some($0) } }
        lastSeenAt = json["lastSeenAt"]?.number.map { EventTime(microseconds: Int64($0)) }
        eventsApplied = json["eventsApplied"]?.number.map { Int($0) } ?? 0
    }
}
