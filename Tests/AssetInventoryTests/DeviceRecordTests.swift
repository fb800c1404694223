import AssetInventory
import Events
import Testing

let origin = EventTime(microseconds: 1_764_064_800_000_000)
func at(_ seconds: Int64) -> EventTime { origin.adding(.seconds(seconds)) }
func event(_ id: String, _ seconds: Int64, _ payload: EventPayload) -> Event {
    Event(id: id, source: "urn:test", time: at(seconds), payload: payload)
}

@Suite("Asset-inventory fold")
struct DeviceRecordTests {
    @Test("a device that sends events before registering appears with what is known")
    func beforeRegistration() {
        var device = DeviceRecord(deviceId: "d1")
        device.apply(event("h", 5, .deviceHeartbeat(DeviceHeartbeat(deviceId: "d1", batteryPercent: 70, signalDbm: -60))))
        #expect(device.battery?.value == 70)
        #expect(device.registration == nil)
        #expect(device.lastSeenAt == at(5))
        device.apply(event("r", 1, .deviceRegistered(DeviceRegistered(deviceId: "d1", kind: "pulse-oximeter", model: "X1", manufacturer: "Acme", serialNumber: "S1", firmware: "1.0", facilityId: "f1", grade: .medical, heartbeatIntervalSeconds: 30))))
        #expect(device.registration?.value.kind == "pulse-oximeter")
        #expect(device.facilityId == "f1")
        #expect(device.lastSeenAt == at(5), "a late registration does not move last-seen back")
        #expect(device.eventsApplied == 2)
    }

    @Test("event time wins: a late status or location never overwrites a newer one")
    func eventTimeWins() {
        var device = DeviceRecord(deviceId: "d1")
        device.apply(event("s2", 20, .deviceStatus(DeviceStatusChanged(deviceId: "d1", status: .fault, reason: "sensor"))))
        device.apply(event("s1", 10, .deviceStatus(DeviceStatusChanged(deviceId: "d1", status: .available))))
        device.apply(event("l2", 30, .deviceLocation(DeviceLocation(deviceId: "d1", facilityId: "f2", unit: "icu", room: "4"))))
        device.apply(event("l1", 25, .deviceLocation(DeviceLocation(deviceId: "d1", facilityId: "f1", unit: "ward"))))
        #expect(device.condition?.value.status == .fault)
        #expect(device.placement?.value.unit == "icu")
        #expect(device.facilityId == "f2")
    }

    @Test("online means an event within three heartbeat intervals (60 s by default)")
    func online() {
        var device = DeviceRecord(deviceId: "d1")
        device.apply(event("h", 0, .deviceHeartbeat(DeviceHeartbeat(deviceId: "d1"))))
        #expect(device.isOnline(at: at(180)))
        #expect(!device.isOnline(at: at(181)))
    }

    @Test("firmware comes from the newest registration or heartbeat; unassigning clears only the named patient")
    func firmwareAndAssignment() {
        var device = DeviceRecord(deviceId: "d1")
        device.apply(event("r", 1, .deviceRegistered(DeviceRegistered(deviceId: "d1", kind: "monitor", model: "M", manufacturer: "A", serialNumber: "S", firmware: "1.0", facilityId: "f1", grade: .medical))))
        device.apply(event("h", 2, .deviceHeartbeat(DeviceHeartbeat(deviceId: "d1", firmware: "1.1"))))
        #expect(device.firmware?.value == "1.1")
        device.apply(event("a", 3, .deviceAssigned(DeviceAssignment(deviceId: "d1", patientId: "p1"))))
        device.apply(event("u", 4, .deviceUnassigned(DeviceAssignment(deviceId: "d1", patientId: "p9"))))
        #expect(device.assignment?.value == "p1")
        device.apply(event("u2", 5, .deviceUnassigned(DeviceAssignment(deviceId: "d1", patientId: "p1"))))
        #expect(device.assignment?.value == .some(nil))
    }

    @Test("the JSON document round-trips")
    func json() throws {
        var device = DeviceRecord(deviceId: "d1")
        device.apply(event("r", 1, .deviceRegistered(DeviceRegistered(deviceId: "d1", kind: "monitor", model: "M", manufacturer: "A", serialNumber: "S", facilityId: "f1", grade: .consumer, heartbeatIntervalSeconds: 15))))
        device.apply(event("h", 2, .deviceHeartbeat(DeviceHeartbeat(deviceId: "d1", batteryPercent: 12.5, signalDbm: -70, firmware: "2"))))
        device.apply(event("a", 3, .deviceAssigned(DeviceAssignment(deviceId: "d1", patientId: "p1"))))
        device.apply(event("u", 4, .deviceUnassigned(DeviceAssignment(deviceId: "d1", patientId: "p1"))))
        device.apply(event("s", 5, .deviceStatus(DeviceStatusChanged(deviceId: "d1", status: .maintenance, reason: "service"))))
        device.apply(event("l", 6, .deviceLocation(DeviceLocation(deviceId: "d1", facilityId: "f1", unit: "u", room: "r", bed: "b", zone: "z"))))
        let decoded = try JSONDocument().parse(device.json) { root in DeviceRecord(deviceId: "d1", json: root) }
        #expect(decoded == device)
    }
}
