import Events
import Foundation
import Testing

/// Decodes one structured event from JSON text.
func decodeEvent(_ json: String) throws -> Event {
    try JSONDocument().parse(Array(json.utf8)) { root in try EventEnvelope.decode(root) }
}

func validationError(_ json: String) -> EventValidationError? {
    do {
        _ = try decodeEvent(json)
        return nil
    } catch let error as EventValidationError {
        return error
    } catch {
        return EventValidationError(.malformed, path: "", "\(error)")
    }
}

func vitals(_ observations: String, time: String = "\"2026-11-25T10:00:00Z\"") -> String {
    """
    {"specversion":"1.0","id":"e1","source":"urn:iomt:device:dev-1","type":"iomt.vitals.observed.v1","time":\(time),
     "data":{"deviceId":"dev-1","observations":\(observations)}}
    """
}

@Suite("Event validation")
struct EventValidationTests {
    @Test("a wrong unit names the path, the unit and the expected unit")
    func wrongUnitMessage() throws {
        let error = try #require(validationError(vitals(#"[{"code":"8867-4","value":72,"unit":"bpm"}]"#)))
        #expect(error.code == .invalidUnit)
        #expect(error.within("events[3]").description == #"events[3].data.observations[0].unit: "bpm" is not a unit for 8867-4 (expected "/min")"#)
    }

    @Test("a value out of range is refused with its range")
    func outOfRange() throws {
        let error = try #require(validationError(vitals(#"[{"code":"8867-4","value":72,"unit":"/min"},{"code":"59408-5","value":101,"unit":"%"}]"#)))
        #expect(error.code == .outOfRange)
        #expect(error.path == "data.observations[1].value")
    }

    @Test("Fahrenheit temperatures are accepted and normalised to Celsius")
    func fahrenheit() throws {
        let event = try decodeEvent(vitals(#"[{"code":"8310-5","value":98.6,"unit":"[degF]"}]"#))
        guard case .vitalsObserved(let data) = event.payload else { Issue.record("wrong payload"); return }
        let normalized = data.observations[0].normalized
        #expect(normalized.unit == "Cel")
        #expect(abs(normalized.value - 37.0) < 1e-9)
        #expect(data.observations[0].unit == "[degF]", "the event keeps what the device sent")
    }

    @Test("unknown LOINC codes are kept with their unit")
    func unknownCodesKept() throws {
        let event = try decodeEvent(vitals(#"[{"code":"12345-6","value":1.5,"unit":"mmol/L"}]"#))
        guard case .vitalsObserved(let data) = event.payload else { Issue.record("wrong payload"); return }
        #expect(data.observations == [Observation(code: "12345-6", value: 1.5, unit: "mmol/L")])
    }

    @Test("time is required and must carry an offset", arguments: [
        ("", "time"), (#","time":"2026-11-25T10:00:00""#, "time"), (#","time":"2026-02-30T10:00:00Z""#, "time"), (#","time":42"#, "time"),
    ])
    func timeRules(timeMember: String, path: String) throws {
        let json = """
        {"specversion":"1.0","id":"e1","source":"s","type":"iomt.patient.discharged.v1"\(timeMember),"data":{"patientId":"p1"}}
        """
        let error = try #require(validationError(json))
        #expect(error.code == .invalidTime)
        #expect(error.path == path)
    }

    @Test("an unknown type is refused as such")
    func unknownType() throws {
        let error = try #require(validationError(#"{"specversion":"1.0","id":"e","source":"s","type":"com.example.x","time":"2026-11-25T10:00:00Z","data":{}}"#))
        #expect(error.code == .unknownType)
        #expect(error.path == "type")
    }

    @Test("a field of the wrong JSON type is refused with its path")
    func mistypedField() throws {
        let error = try #require(validationError(vitals(#"[{"code":"8867-4","value":"72","unit":"/min"}]"#)))
        #expect(error.code == .invalidField)
        #expect(error.path == "data.observations[0].value")
    }

    @Test("a missing required field is refused with its path")
    func missingField() throws {
        let error = try #require(validationError(#"{"specversion":"1.0","id":"e","source":"s","type":"iomt.device.assigned.v1","time":"2026-11-25T10:00:00Z","data":{"deviceId":"d"}}"#))
        #expect(error.code == .missingField)
        #expect(error.path == "data.patientId")
    }

    @Test("a field given twice is refused")
    func duplicateField() throws {
        let error = try #require(validationError(#"{"specversion":"1.0","id":"e","source":"s","type":"iomt.patient.discharged.v1","time":"2026-11-25T10:00:00Z","data":{"patientId":"a","patientId":"b"}}"#))
        #expect(error.code == .duplicateField)
    }

    @Test("binary-mode records with a bad ce_time or an unknown ce_type are refused")
    func binaryModeErrors() throws {
        let decoder = EventRecordDecoder()
        let value = Array(#"{"patientId":"p1"}"#.utf8)
        func headers(_ time: String, _ type: String) -> [TestHeader] {
            [TestHeader(name: "ce_specversion", value: Array("1.0".utf8)), TestHeader(name: "ce_id", value: Array("1".utf8)),
             TestHeader(name: "ce_source", value: Array("s".utf8)), TestHeader(name: "ce_type", value: Array(type.utf8)),
             TestHeader(name: "ce_time", value: Array(time.utf8))]
        }
        #expect(throws: EventValidationError.self) { try decoder.decode(headers: headers("yesterday", "iomt.patient.discharged.v1"), value: value) }
        #expect(throws: EventValidationError.self) { try decoder.decode(headers: headers("2026-11-25T10:00:00Z", "nope"), value: value) }
        let event = try decoder.decode(headers: headers("2026-11-25T10:00:00+01:00", "iomt.patient.discharged.v1"), value: value)
        #expect(event.time == EventTime(rfc3339: "2026-11-25T09:00:00Z"))
        #expect(event.payload == .patientDischarged(PatientDischarged(patientId: "p1")))
    }

    @Test("structured-mode records are decoded too")
    func structuredMode() throws {
        let decoder = EventRecordDecoder()
        let json = #"{"specversion":"1.0","id":"e","source":"s","type":"iomt.patient.discharged.v1","time":"2026-11-25T10:00:00Z","data":{"patientId":"p1"}}"#
        let event = try decoder.decode(headers: [TestHeader(name: "content-type", value: Array("application/cloudevents+json; charset=utf-8".utf8))], value: Array(json.utf8))
        #expect(event.id == "e")
        #expect(event.payload == .patientDischarged(PatientDischarged(patientId: "p1")))
    }
}
