import Clinical
import Events
import Foundation
import PostgresNIO
import ProjectionKit
import ServiceSupport

/// Reads and writes patient state in the `patient_state` schema, in bulk: one
/// statement per table per batch.
enum PatientStateStore {
    static let migrations: [Migration] = [
        Migration(version: 1, name: "patients and device assignments", statements: [
            "CREATE SCHEMA IF NOT EXISTS patient_state",
            """
            CREATE TABLE patient_state.patients (
                patient_id text PRIMARY KEY,
                facility_id text,
                unit text,
                bed text,
                location_at timestamptz,
                location_event_id text,
                status text NOT NULL DEFAULT 'unknown',
                status_at timestamptz,
                status_event_id text,
                vitals jsonb NOT NULL DEFAULT '{}',
                consciousness text,
                consciousness_at timestamptz,
                consciousness_event_id text,
                supplemental_oxygen boolean,
                supplemental_oxygen_at timestamptz,
                supplemental_oxygen_event_id text,
                spo2_scale integer,
                spo2_scale_at timestamptz,
                spo2_scale_event_id text,
                news2 jsonb,
                news2_total integer,
                news2_risk text,
                news2_complete boolean,
                last_event_at timestamptz,
                events_applied bigint NOT NULL DEFAULT 0,
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX patients_facility_unit ON patient_state.patients (facility_id, unit, patient_id)",
            "CREATE INDEX patients_risk ON patient_state.patients (news2_risk, patient_id)",
            """
            CREATE TABLE patient_state.device_assignments (
                device_id text PRIMARY KEY,
                patient_id text,
                changed_at timestamptz NOT NULL,
                change_event_id text NOT NULL
            )
            """,
            "CREATE INDEX device_assignments_patient ON patient_state.device_assignments (patient_id, device_id)",
        ]),
    ]

    /// `extract(epoch …)` as whole microseconds: exact, unlike a `Date` round trip.
    private static func micros(_ column: String) -> String {
        "(extract(epoch FROM \(column)) * 1000000)::int8"
    }

    static func loadAssignments(_ devices: Set<String>, context: ProjectionContext) async throws -> [String: DeviceAssignmentRecord] {
        guard !devices.isEmpty else { return [:] }
        var result: [String: DeviceAssignmentRecord] = [:]
        let rows = try await context.query(PostgresQuery(unsafeSQL: """
            SELECT device_id, patient_id, \(micros("changed_at")), change_event_id
            FROM patient_state.device_assignments WHERE device_id = ANY($1)
            """, binds: binds(Array(devices))))
        for try await (device, patient, changed, eventID) in rows.decode((String, String?, Int64, String).self) {
            result[device] = DeviceAssignmentRecord(deviceId: device, patient: Stamped(patient, at: EventTime(microseconds: changed), eventId: eventID))
        }
        return result
    }

    /// Loads and locks the rows of `patients` (creating empty rows first, so two
    /// workers touching one patient serialise on its row). Locks are taken in id
    /// order to keep deadlocks rare; PostgreSQL resolves any that remain and the
    /// runtime retries the batch.
    static func lockAndLoadPatients(_ patients: Set<String>, context: ProjectionContext) async throws -> [String: PatientRecord] {
        guard !patients.isEmpty else { return [:] }
        let ids = patients.sorted()
        try await context.query(PostgresQuery(unsafeSQL: """
            INSERT INTO patient_state.patients (patient_id) SELECT id FROM unnest($1::text[]) AS u(id) ORDER BY id ON CONFLICT DO NOTHING
            """, binds: binds(ids)))
        let rows = try await context.query(PostgresQuery(unsafeSQL: """
            SELECT patient_id, facility_id, unit, bed, \(micros("location_at")), location_event_id,
                   status, \(micros("status_at")), status_event_id, vitals::text,
                   consciousness, \(micros("consciousness_at")), consciousness_event_id,
                   supplemental_oxygen, \(micros("supplemental_oxygen_at")), supplemental_oxygen_event_id,
                   spo2_scale, \(micros("spo2_scale_at")), spo2_scale_event_id,
                   \(micros("last_event_at")), events_applied
            FROM patient_state.patients WHERE patient_id = ANY($1) ORDER BY patient_id FOR UPDATE
            """, binds: binds(ids)))
        var result: [String: PatientRecord] = [:]
        for try await row in rows {
            let columns = try row.decode((String, String?, String?, String?, Int64?, String?, String, Int64?, String?, String,
                                           String?, Int64?, String?, Bool?, Int64?, String?, Int?, Int64?, String?, Int64?, Int64).self)
            var record = PatientRecord(patientId: columns.0)
            if let facility = columns.1, let unit = columns.2, let at = columns.4, let id = columns.5 {
                record.location = Stamped(PatientLocation(facilityId: facility, unit: unit, bed: columns.3), at: EventTime(microseconds: at), eventId: id)
            }
            if let at = columns.7, let id = columns.8, let status = PatientStatus(rawValue: columns.6) {
                record.status = Stamped(status, at: EventTime(microseconds: at), eventId: id)
            }
            record.vitals = decodeVitals(columns.9)
            if let raw = columns.10, let level = ConsciousnessLevel(rawValue: raw), let at = columns.11, let id = columns.12 {
                record.consciousness = Stamped(level, at: EventTime(microseconds: at), eventId: id)
            }
            if let value = columns.13, let at = columns.14, let id = columns.15 {
                record.supplementalOxygen = Stamped(value, at: EventTime(microseconds: at), eventId: id)
            }
            if let value = columns.16, let at = columns.17, let id = columns.18 {
                record.spo2Scale = Stamped(value, at: EventTime(microseconds: at), eventId: id)
            }
            record.lastEventAt = columns.19.map(EventTime.init(microseconds:))
            record.eventsApplied = Int(columns.20)
            result[record.patientId] = record
        }
        return result
    }

    static func save(patients: [PatientRecord], context: ProjectionContext) async throws {
        guard !patients.isEmpty else { return }
        var rows = BulkRows()
        for record in patients {
            let score = record.news2
            rows.row { row in
                row.member("patient_id", record.patientId)
                row.member("facility_id", record.location?.value.facilityId)
                row.member("unit", record.location?.value.unit)
                row.member("bed", record.location?.value.bed)
                row.member("location_at", record.location?.at)
                row.member("location_event_id", record.location?.eventId)
                row.member("status", (record.status?.value ?? .unknown).rawValue)
                row.member("status_at", record.status?.at)
                row.member("status_event_id", record.status?.eventId)
                row.key("vitals")
                row.raw(encodeVitals(record.vitals))
                row.member("consciousness", record.consciousness?.value.rawValue)
                row.member("consciousness_at", record.consciousness?.at)
                row.member("consciousness_event_id", record.consciousness?.eventId)
                row.member("supplemental_oxygen", record.supplementalOxygen?.value)
                row.member("supplemental_oxygen_at", record.supplementalOxygen?.at)
                row.member("supplemental_oxygen_event_id", record.supplementalOxygen?.eventId)
                row.member("spo2_scale", record.spo2Scale?.value)
                row.member("spo2_scale_at", record.spo2Scale?.at)
                row.member("spo2_scale_event_id", record.spo2Scale?.eventId)
                row.key("news2")
                row.raw(NEWS2Document.json(score))
                row.member("news2_total", score.total)
                row.member("news2_risk", score.risk.rawValue)
                row.member("news2_complete", score.complete)
                row.member("last_event_at", record.lastEventAt)
                row.member("events_applied", record.eventsApplied)
            }
        }
        try await context.query(PostgresQuery(unsafeSQL: """
            INSERT INTO patient_state.patients AS p (
                patient_id, facility_id, unit, bed, location_at, location_event_id, status, status_at, status_event_id, vitals,
                consciousness, consciousness_at, consciousness_event_id, supplemental_oxygen, supplemental_oxygen_at, supplemental_oxygen_event_id,
                spo2_scale, spo2_scale_at, spo2_scale_event_id, news2, news2_total, news2_risk, news2_complete, last_event_at, events_applied, updated_at)
            SELECT patient_id, facility_id, unit, bed, location_at, location_event_id, status, status_at, status_event_id, vitals,
                consciousness, consciousness_at, consciousness_event_id, supplemental_oxygen, supplemental_oxygen_at, supplemental_oxygen_event_id,
                spo2_scale, spo2_scale_at, spo2_scale_event_id, news2, news2_total, news2_risk, news2_complete, last_event_at, events_applied, now()
            FROM json_to_recordset($1::json) AS r(
                patient_id text, facility_id text, unit text, bed text, location_at timestamptz, location_event_id text,
                status text, status_at timestamptz, status_event_id text, vitals jsonb,
                consciousness text, consciousness_at timestamptz, consciousness_event_id text,
                supplemental_oxygen boolean, supplemental_oxygen_at timestamptz, supplemental_oxygen_event_id text,
                spo2_scale integer, spo2_scale_at timestamptz, spo2_scale_event_id text,
                news2 jsonb, news2_total integer, news2_risk text, news2_complete boolean, last_event_at timestamptz, events_applied bigint)
            ON CONFLICT (patient_id) DO UPDATE SET
                facility_id = EXCLUDED.facility_id, unit = EXCLUDED.unit, bed = EXCLUDED.bed,
                location_at = EXCLUDED.location_at, location_event_id = EXCLUDED.location_event_id,
                status = EXCLUDED.status, status_at = EXCLUDED.status_at, status_event_id = EXCLUDED.status_event_id,
                vitals = EXCLUDED.vitals,
                consciousness = EXCLUDED.consciousness, consciousness_at = EXCLUDED.consciousness_at, consciousness_event_id = EXCLUDED.consciousness_event_id,
                supplemental_oxygen = EXCLUDED.supplemental_oxygen, supplemental_oxygen_at = EXCLUDED.supplemental_oxygen_at,
                supplemental_oxygen_event_id = EXCLUDED.supplemental_oxygen_event_id,
                spo2_scale = EXCLUDED.spo2_scale, spo2_scale_at = EXCLUDED.spo2_scale_at, spo2_scale_event_id = EXCLUDED.spo2_scale_event_id,
                news2 = EXCLUDED.news2, news2_total = EXCLUDED.news2_total, news2_risk = EXCLUDED.news2_risk, news2_complete = EXCLUDED.news2_complete,
                last_event_at = EXCLUDED.last_event_at, events_applied = EXCLUDED.events_applied, updated_at = now()
            """, binds: binds(rows.json)))
    }

    static func save(assignments: [DeviceAssignmentRecord], context: ProjectionContext) async throws {
        guard !assignments.isEmpty else { return }
        var rows = BulkRows()
        for record in assignments {
            rows.row { row in
                row.member("device_id", record.deviceId)
                row.member("patient_id", record.patient.value)
                row.member("changed_at", record.patient.at)
                row.member("change_event_id", record.patient.eventId)
            }
        }
        try await context.query(PostgresQuery(unsafeSQL: """
            INSERT INTO patient_state.device_assignments (device_id, patient_id, changed_at, change_event_id)
            SELECT device_id, patient_id, changed_at, change_event_id
            FROM json_to_recordset($1::json) AS r(device_id text, patient_id text, changed_at timestamptz, change_event_id text)
            ON CONFLICT (device_id) DO UPDATE SET
                patient_id = EXCLUDED.patient_id, changed_at = EXCLUDED.changed_at, change_event_id = EXCLUDED.change_event_id
            """, binds: binds(rows.json)))
    }

    // MARK: - Vitals as JSON: {"8867-4": {"value":72,"unit":"/min","observedAt":"…","eventId":"…"}}

    static func encodeVitals(_ vitals: [String: Stamped<VitalReading>]) -> [UInt8] {
        var writer = JSONWriter(capacity: 128 * max(vitals.count, 1))
        writer.beginObject()
        for (code, reading) in vitals.sorted(by: { $0.key < $1.key }) {
            writer.key(code)
            writer.beginObject()
            writer.member("value", reading.value.value)
            writer.member("unit", reading.value.unit)
            writer.member("observedAt", reading.at.rfc3339)
            writer.member("eventId", reading.eventId)
            writer.endObject()
        }
        writer.endObject()
        return writer.bytes
    }

    static func decodeVitals(_ json: String) -> [String: Stamped<VitalReading>] {
        var result: [String: Stamped<VitalReading>] = [:]
        try? JSONDocument().parse(Array(json.utf8)) { root in
            root.forEachMember { key, value in
                guard let code = key.string, let number = value["value"]?.number, let unit = value["unit"]?.string,
                      let observed = value["observedAt"]?.string.flatMap(EventTime.init(rfc3339:)), let eventID = value["eventId"]?.string
                else { return }
                result[code] = Stamped(VitalReading(value: number, unit: unit), at: observed, eventId: eventID)
            }
        }
        return result
    }

    private static func binds(_ values: some PostgresNonThrowingEncodable) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(values)
        return bindings
    }
}
