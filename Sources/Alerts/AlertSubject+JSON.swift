import AssetInventory
import Events
import PatientState
import ProjectionKit

/// A subject as one JSON document (the `state` column of `alerts.subjects`):
/// `{"patient": {…}, "device": {…}, "lastAlarm": {…}, "tracks": {rule: {…}}, "clock": µs}`.
extension AlertSubject {
    /// The document.
    public var json: [UInt8] {
        var writer = JSONWriter(capacity: 1024)
        write(to: &writer)
        return writer.bytes
    }

    /// Writes the document as the writer's next value. The records are written
    /// in place (read from the subject's box, not copied out).
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        if hasPatientRecord {
            writer.key("patient")
            patient?.write(to: &writer)
        }
        if hasDeviceRecord {
            writer.key("device")
            device?.write(to: &writer)
        }
        if let alarm = lastAlarm {
            writer.key("lastAlarm")
            writer.beginObject()
            writer.member("code", alarm.value.code)
            writer.member("priority", alarm.value.priority.rawValue)
            writer.member("message", alarm.value.message)
            writer.member("patientId", alarm.value.patientId)
            writer.member("at", Int(alarm.at.microseconds))
            writer.member("eventId", alarm.eventId)
            writer.endObject()
        }
        writer.key("tracks")
        writer.beginObject()
        for (rule, track) in tracks.sorted(by: { $0.key < $1.key }) {
            writer.key(rule.rawValue)
            writer.beginObject()
            writer.member("pendingSince", track.pendingSince.map { Int($0.microseconds) })
            writer.member("clearSince", track.clearSince.map { Int($0.microseconds) })
            writer.member("alertId", track.alertId)
            writer.member("lastOccurrence", track.lastOccurrence.map { Int($0.microseconds) })
            writer.member("opened", track.opened)
            writer.endObject()
        }
        writer.endObject()
        writer.member("clock", clock.map { Int($0.microseconds) })
        writer.endObject()
    }

    /// Reads a document written by ``json``.
    public init(key: String, json: JSONValue) {
        self.init(key: key)
        func time(_ value: JSONValue?) -> EventTime? { value?.number.map { EventTime(microseconds: Int64($0)) } }
        if let value = json["patient"], let patient = PatientRecord(patientId: String(key.dropFirst(8)), json: value) { self.patient = patient }
        if let value = json["device"], let device = DeviceRecord(deviceId: String(key.dropFirst(7)), json: value) { self.device = device }
        if let alarm = json["lastAlarm"], let code = alarm["code"]?.string, let priority = alarm["priority"]?.string.flatMap(AlarmPriority.init(rawValue:)),
           let message = alarm["message"]?.string, let at = time(alarm["at"]), let eventID = alarm["eventId"]?.string {
            let deviceID = device?.deviceId ?? ""
            lastAlarm = Stamped(DeviceAlarm(deviceId: deviceID, patientId: alarm["patientId"]?.string, code: code, priority: priority, message: message), at: at, eventId: eventID)
        }
        json["tracks"]?.forEachMember { name, value in
            guard let rule = name.string.flatMap(AlertRule.init(rawValue:)) else { return }
            var track = RuleTrack()
            track.pendingSince = time(value["pendingSince"])
            track.clearSince = time(value["clearSince"])
            track.alertId = value["alertId"]?.string
            track.lastOccurrence = time(value["lastOccurrence"])
            track.opened = value["opened"]?.number.map { Int($0) } ?? 0
            tracks[rule] = track
        }
        clock = time(json["clock"])
    }
}
