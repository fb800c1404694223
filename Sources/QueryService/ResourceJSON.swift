import AssetInventory
import Clinical
import Events
import PatientState
import ServiceSupport

/// The API's JSON shapes (see `schemas/openapi/query.yaml`). Nullable fields are
/// always present, as `null` when unknown.
enum ResourceJSON {
    static func time(_ writer: inout JSONWriter, _ name: String, _ time: EventTime?) {
        writer.key(name)
        if let time { writer.string(time.rfc3339) } else { writer.null() }
    }

    static func optional(_ writer: inout JSONWriter, _ name: String, _ value: String?) {
        writer.key(name)
        if let value { writer.string(value) } else { writer.null() }
    }

    static func optional(_ writer: inout JSONWriter, _ name: String, _ value: Double?) {
        writer.key(name)
        if let value { writer.number(value) } else { writer.null() }
    }

    /// An alert; `redactPatient` hides the patient from callers without patient access.
    static func alert(_ alert: AlertChanged, redactPatient: Bool, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("alertId", alert.alertId)
        writer.member("rule", alert.rule)
        writer.member("priority", alert.priority.rawValue)
        writer.member("status", alert.status.rawValue)
        optional(&writer, "patientId", redactPatient ? nil : alert.patientId)
        optional(&writer, "deviceId", alert.deviceId)
        optional(&writer, "facilityId", alert.facilityId)
        writer.member("message", alert.message)
        writer.member("occurrences", alert.occurrences)
        writer.member("escalationLevel", alert.escalationLevel)
        time(&writer, "openedAt", alert.openedAt)
        time(&writer, "acknowledgedAt", alert.acknowledgedAt)
        optional(&writer, "acknowledgedBy", alert.acknowledgedBy)
        time(&writer, "resolvedAt", alert.resolvedAt)
        time(&writer, "updatedAt", alert.updatedAt)
        writer.member("version", alert.version)
        writer.endObject()
    }

    /// A device, with `online` judged at `now`.
    static func device(_ device: DeviceRecord, now: EventTime, into writer: inout JSONWriter) {
        let registration = device.registration?.value
        let placement = device.placement?.value
        writer.beginObject()
        writer.member("deviceId", device.deviceId)
        optional(&writer, "kind", registration?.kind)
        optional(&writer, "model", registration?.model)
        optional(&writer, "manufacturer", registration?.manufacturer)
        optional(&writer, "serialNumber", registration?.serialNumber)
        optional(&writer, "firmware", device.firmware?.value)
        optional(&writer, "grade", registration?.grade.rawValue)
        optional(&writer, "facilityId", device.facilityId)
        writer.key("location")
        writer.beginObject()
        optional(&writer, "unit", placement?.unit)
        optional(&writer, "room", placement?.room)
        optional(&writer, "bed", placement?.bed)
        optional(&writer, "zone", placement?.zone)
        writer.endObject()
        optional(&writer, "status", device.condition?.value.status.rawValue)
        optional(&writer, "batteryPercent", device.battery?.value)
        optional(&writer, "signalDbm", device.signal?.value)
        writer.member("online", device.isOnline(at: now))
        time(&writer, "lastSeenAt", device.lastSeenAt)
        time(&writer, "registeredAt", device.registration?.at)
        writer.member("heartbeatIntervalSeconds", device.heartbeatIntervalSeconds)
        optional(&writer, "assignedPatientId", device.assignment?.value ?? nil)
        writer.member("eventsApplied", device.eventsApplied)
        writer.endObject()
    }

    /// A patient with NEWS2 and assigned devices.
    static func patient(_ record: PatientRecord, devices: [String], into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("patientId", record.patientId)
        optional(&writer, "facilityId", record.location?.value.facilityId)
        optional(&writer, "unit", record.location?.value.unit)
        optional(&writer, "bed", record.location?.value.bed)
        writer.member("status", (record.status?.value ?? .unknown).rawValue)
        writer.key("vitals")
        writer.beginObject()
        for (code, reading) in record.vitals.sorted(by: { $0.key < $1.key }) {
            writer.key(code)
            writer.beginObject()
            writer.member("value", reading.value.value)
            writer.member("unit", reading.value.unit)
            writer.member("observedAt", reading.at.rfc3339)
            writer.endObject()
        }
        writer.endObject()
        optional(&writer, "consciousness", record.consciousness?.value.rawValue)
        writer.key("supplementalOxygen")
        if let oxygen = record.supplementalOxygen?.value { writer.bool(oxygen) } else { writer.null() }
        writer.key("spo2Scale")
        if let scale = record.spo2Scale?.value { writer.integer(scale) } else { writer.null() }
        writer.key("news2")
        writer.raw(NEWS2Document.json(record.news2, nullTime: true))
        writer.key("devices")
        writer.beginArray()
        for device in devices { writer.string(device) }
        writer.endArray()
        time(&writer, "lastEventAt", record.lastEventAt)
        writer.member("eventsApplied", record.eventsApplied)
        writer.endObject()
    }
}
