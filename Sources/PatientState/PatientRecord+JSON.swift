import Events
import ProjectionKit

/// A patient record as one JSON document (the `state` column):
///
/// ```json
/// {"location": {"facilityId", "unit", "bed", "at", "eventId"},
///  "status": {"value", "at", "eventId"},
///  "vitals": {"8867-4": {"value", "unit", "at", "eventId"}},
///  "consciousness": {"value", "at", "eventId"}, "supplementalOxygen": {…}, "spo2Scale": {…},
///  "lastEventAt", "eventsApplied"}
/// ```
///
/// Times (`at`, `lastEventAt`) are microseconds since the epoch. One compact
/// document instead of a column per field: a batch writes thousands of rows.
/// NEWS2 is derived from the record (``PatientRecord/news2``), so it is not stored
/// here; its total, risk and completeness are columns for filtering.
extension PatientRecord {
    /// The document.
    public var json: [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        write(to: &writer)
        return writer.bytes
    }

    /// Writes the document as the writer's next value.
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        if let location {
            writer.key("location")
            writer.beginObject()
            writer.member("facilityId", location.value.facilityId)
            writer.member("unit", location.value.unit)
            writer.member("bed", location.value.bed)
            Self.stamp(location, into: &writer)
            writer.endObject()
        }
        Stamped.write(status, as: "status", into: &writer) { $0.string($1.rawValue) }
        writer.key("vitals")
        writer.beginObject()
        for (code, reading) in vitals.sorted(by: { $0.key < $1.key }) {
            writer.key(code)
            writer.beginObject()
            writer.member("value", reading.value.value)
            writer.member("unit", reading.value.unit)
            writer.member("at", Int(reading.at.microseconds))
            writer.member("eventId", reading.eventId)
            writer.endObject()
        }
        writer.endObject()
        Stamped.write(consciousness, as: "consciousness", into: &writer) { $0.string($1.rawValue) }
        Stamped.write(supplementalOxygen, as: "supplementalOxygen", into: &writer) { $0.bool($1) }
        Stamped.write(spo2Scale, as: "spo2Scale", into: &writer) { $0.integer($1) }
        writer.member("lastEventAt", lastEventAt.map { Int($0.microseconds) })
        writer.member("eventsApplied", eventsApplied)
        writer.endObject()
    }

    private static func stamp<V>(_ stamped: Stamped<V>, into writer: inout JSONWriter) {
        writer.member("at", Int(stamped.at.microseconds))
        writer.member("eventId", stamped.eventId)
    }


    /// Reads a document written by ``json``; nil when it is not one.
    public init?(patientId: String, json: JSONValue) {
        guard json.kind == .object else { return nil }
        self.init(patientId: patientId)
        func time(_ value: JSONValue?) -> EventTime? {
            value?.number.map { EventTime(microseconds: Int64($0)) }
        }
        if let location = json["location"], let facility = location["facilityId"]?.string, let unit = location["unit"]?.string,
           let at = time(location["at"]), let eventID = location["eventId"]?.string {
            self.location = Stamped(PatientLocation(facilityId: facility, unit: unit, bed: location["bed"]?.string), at: at, eventId: eventID)
        }
        status = Stamped(json: json["status"]) { $0.string.flatMap(PatientStatus.init(rawValue:)) }
        json["vitals"]?.forEachMember { code, reading in
            guard let code = code.string, let value = reading["value"]?.number, let unit = reading["unit"]?.string,
                  let observed = time(reading["at"]), let eventID = reading["eventId"]?.string
            else { return }
            vitals[code] = Stamped(VitalReading(value: value, unit: unit), at: observed, eventId: eventID)
        }
        consciousness = Stamped(json: json["consciousness"]) { $0.string.flatMap(ConsciousnessLevel.init(rawValue:)) }
        supplementalOxygen = Stamped(json: json["supplementalOxygen"]) { $0.bool }
        spo2Scale = Stamped(json: json["spo2Scale"]) { $0.number.map { Int($0) } }
        lastEventAt = time(json["lastEventAt"])
        eventsApplied = json["eventsApplied"]?.number.map { Int($0) } ?? 0
    }
}
