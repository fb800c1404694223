import Clinical
import Events
import PatientState
import Testing

func at(_ seconds: Int64) -> EventTime { EventTime(microseconds: 1_764_064_800_000_000 + seconds * 1_000_000) }

func event(_ id: String, _ seconds: Int64, _ payload: EventPayload) -> Event {
    Event(id: id, source: "urn:test", time: at(seconds), payload: payload)
}

func vitals(_ id: String, _ seconds: Int64, device: String, patient: String? = nil, _ observations: [(String, Double, String)]) -> Event {
    event(id, seconds, .vitalsObserved(VitalsObserved(deviceId: device, patientId: patient, observations: observations.map { Observation(code: $0.0, value: $0.1, unit: $0.2) })))
}

func fold(_ events: [Event]) -> PatientStateFold {
    var fold = PatientStateFold()
    for event in events { fold.apply(event) }
    return fold
}

@Suite("Patient-state fold")
struct PatientStateFoldTests {
    @Test("a late reading never overwrites a newer one, and still counts as applied")
    func lateEvents() {
        let state = fold([
            vitals("e2", 60, device: "d1", patient: "p1", [("8867-4", 90, "/min")]),
            vitals("e1", 0, device: "d1", patient: "p1", [("8867-4", 70, "/min"), ("9279-1", 14, "/min")]),
        ])
        let patient = state.patients["p1"]!
        #expect(patient.vitals["8867-4"]?.value.value == 90)
        #expect(patient.vitals["9279-1"]?.value.value == 14, "an older event still fills fields it is the newest for")
        #expect(patient.eventsApplied == 2)
        #expect(patient.lastEventAt == at(60))
    }

    @Test("the result does not depend on the order of independent events")
    func orderIndependent() {
        let events = [
            vitals("a", 10, device: "d1", patient: "p1", [("8867-4", 80, "/min")]),
            vitals("b", 10, device: "d2", patient: "p1", [("8867-4", 81, "/min")]),
            event("c", 5, .patientAdmitted(PatientAdmission(patientId: "p1", facilityId: "f1", unit: "u1"))),
            event("d", 7, .patientTransferred(PatientAdmission(patientId: "p1", facilityId: "f1", unit: "u2", bed: "4"))),
        ]
        #expect(fold(events).patients == fold(events.reversed()).patients)
        #expect(fold(events).patients["p1"]?.vitals["8867-4"]?.value.value == 81, "equal times: the larger event id wins")
        #expect(fold(events).patients["p1"]?.location?.value.unit == "u2")
    }

    @Test("vitals without a patient go to the device's current patient, and are dropped for an unassigned device")
    func attribution() {
        let state = fold([
            vitals("v0", 1, device: "d1", [("8867-4", 60, "/min")]),
            event("a1", 2, .deviceAssigned(DeviceAssignment(deviceId: "d1", patientId: "p1"))),
            vitals("v1", 3, device: "d1", [("8867-4", 61, "/min")]),
            event("u1", 4, .deviceUnassigned(DeviceAssignment(deviceId: "d1", patientId: "p1"))),
            vitals("v2", 5, device: "d1", [("8867-4", 62, "/min")]),
        ])
        #expect(state.patients["p1"]?.vitals["8867-4"]?.value.value == 61)
        #expect(state.patients["p1"]?.eventsApplied == 3, "assigned, one vitals event, unassigned")
        #expect(state.unattributedVitals == 2)
        #expect(state.assignments["d1"]?.patient.value == .some(nil))
    }

    @Test("reassigning a device moves its later vitals to the new patient; a stale unassignment of the old patient is ignored")
    func reassignment() {
        let state = fold([
            event("a1", 1, .deviceAssigned(DeviceAssignment(deviceId: "d1", patientId: "p1"))),
            vitals("v1", 2, device: "d1", [("59408-5", 95, "%")]),
            event("a2", 3, .deviceAssigned(DeviceAssignment(deviceId: "d1", patientId: "p2"))),
            event("u1", 4, .deviceUnassigned(DeviceAssignment(deviceId: "d1", patientId: "p1"))),
            vitals("v2", 5, device: "d1", [("59408-5", 91, "%")]),
        ])
        #expect(state.patients["p1"]?.vitals["59408-5"]?.value.value == 95)
        #expect(state.patients["p2"]?.vitals["59408-5"]?.value.value == 91)
        #expect(state.assignments["d1"]?.patient.value == "p2")
    }

    @Test("discharge sets the status but keeps the last location; a newer admission re-admits")
    func discharge() {
        var events = [
            event("a", 1, .patientAdmitted(PatientAdmission(patientId: "p1", facilityId: "f1", unit: "u1", bed: "2"))),
            event("d", 5, .patientDischarged(PatientDischarged(patientId: "p1"))),
        ]
        var state = fold(events)
        #expect(state.patients["p1"]?.status?.value == .discharged)
        #expect(state.patients["p1"]?.location?.value.unit == "u1")
        events.append(event("r", 9, .patientAdmitted(PatientAdmission(patientId: "p1", facilityId: "f1", unit: "u3"))))
        state = fold(events)
        #expect(state.patients["p1"]?.status?.value == .admitted)
        #expect(state.patients["p1"]?.location?.value.unit == "u3")
    }

    @Test("NEWS2 is computed from the newest readings, Fahrenheit normalised, and assessments")
    func news2() {
        let state = fold([
            vitals("v", 10, device: "d1", patient: "p1", [
                ("9279-1", 22, "/min"), ("59408-5", 95, "%"), ("8480-6", 105, "mm[Hg]"), ("8867-4", 95, "/min"), ("8310-5", 100.4, "[degF]"),
            ]),
            event("s", 11, .patientAssessed(PatientAssessed(patientId: "p1", consciousness: .alert, supplementalOxygen: false))),
        ])
        let patient = state.patients["p1"]!
        #expect(patient.vitals["8310-5"]?.value.unit == "Cel")
        let score = patient.news2
        // RR 22 → 2, SpO2 95 → 1, air → 0, SBP 105 → 1, pulse 95 → 1, alert → 0, 38.0 °C → 0
        #expect(score.complete)
        #expect(score.total == 5)
        #expect(score.risk == .medium)
    }

    @Test("NEWS2 without consciousness or oxygen recorded is incomplete and lists them")
    func news2Incomplete() {
        let state = fold([vitals("v", 10, device: "d1", patient: "p1", [("9279-1", 16, "/min")])])
        let score = state.patients["p1"]!.news2
        #expect(!score.complete)
        #expect(score.missing.contains(.consciousness))
        #expect(score.missing.contains(.supplementalOxygen))
    }
}
