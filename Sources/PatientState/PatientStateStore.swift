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
                status text NOT NULL DEFAULT 'unknown',
                news2_total integer,
                news2_risk text,
                news2_complete boolean,
                last_event_at timestamptz,
                events_applied bigint NOT NULL DEFAULT 0,
                state json NOT NULL,
                version bigint NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            ) WITH (fillfactor = 80)
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

    /// First key of the patient advisory locks ("ps").
    static let lockNamespace: Int32 = 0x7073

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

    /// Locks `patients` for the transaction and loads their rows. Two workers can
    /// touch one patient (its care events and its devices' events live in
    /// different partitions), so each takes a transaction-scoped advisory lock per
    /// patient, in hash order to keep deadlocks rare (PostgreSQL breaks any that
    /// remain and the runtime retries the batch). Advisory locks cost no row
    /// writes, unlike `SELECT … FOR UPDATE`.
    static func lockAndLoadPatients(_ patients: Set<String>, cache: VersionedRowCache<PatientRecord>, context: ProjectionContext) async throws -> [String: PatientRecord] {
        guard !patients.isEmpty else { return [:] }
        let ids = Array(patients)
        try await context.query(PostgresQuery(unsafeSQL: """
            SELECT count(pg_advisory_xact_lock(\(lockNamespace), h)) FROM (
                SELECT DISTINCT hashtext(id) AS h FROM unnest($1::text[]) AS u(id) ORDER BY 1
            ) AS keys
            """, binds: binds(ids)))
        var result: [String: PatientRecord] = [:]
        var stale: [String] = []
        let versions = try await context.query(PostgresQuery(unsafeSQL: """
            SELECT patient_id, version FROM patient_state.patients WHERE patient_id = ANY($1)
            """, binds: binds(ids)))
        for try await (id, version) in versions.decode((String, Int64).self) {
            if let cached = cache.value(id, version: version) { result[id] = cached } else { stale.append(id) }
        }
        guard !stale.isEmpty else { return result }
        let rows = try await context.query(PostgresQuery(unsafeSQL: """
            SELECT patient_id, state::text FROM patient_state.patients WHERE patient_id = ANY($1)
            """, binds: binds(stale)))
        let document = JSONDocument()
        for try await (id, state) in rows.decode((String, String).self) {
            try document.parse(Array(state.utf8)) { root in
                result[id] = PatientRecord(patientId: id, json: root)
            }
        }
        return result
    }

    static func save(patients: [PatientRecord], cache: VersionedRowCache<PatientRecord>, context: ProjectionContext) async throws {
        guard !patients.isEmpty else { return }
        let version = VersionedRowCache<PatientRecord>.newVersion()
        var rows = BulkRows()
        for record in patients {
            let score = record.news2
            rows.row { row in
                row.member("patient_id", record.patientId)
                row.member("facility_id", record.location?.value.facilityId)
                row.member("unit", record.location?.value.unit)
                row.member("bed", record.location?.value.bed)
                row.member("status", (record.status?.value ?? .unknown).rawValue)
                row.member("news2_total", score.total)
                row.member("news2_risk", score.risk.rawValue)
                row.member("news2_complete", score.complete)
                row.member("last_event_at", record.lastEventAt)
                row.member("events_applied", record.eventsApplied)
                row.key("state")
                row.raw(record.json)
                row.member("version", Int(version))
            }
        }
        try await context.query(PostgresQuery(unsafeSQL: """
            INSERT INTO patient_state.patients AS p (
                patient_id, facility_id, unit, bed, status, news2_total, news2_risk, news2_complete, last_event_at, events_applied, state, version, updated_at)
            SELECT patient_id, facility_id, unit, bed, status, news2_total, news2_risk, news2_complete, last_event_at, events_applied, state, version, now()
            FROM json_to_recordset($1::json) AS r(
                patient_id text, facility_id text, unit text, bed text, status text, news2_total integer, news2_risk text,
                news2_complete boolean, last_event_at timestamptz, events_applied bigint, state json, version bigint)
            ON CONFLICT (patient_id) DO UPDATE SET
                facility_id = EXCLUDED.facility_id, unit = EXCLUDED.unit, bed = EXCLUDED.bed, status = EXCLUDED.status,
                news2_total = EXCLUDED.news2_total, news2_risk = EXCLUDED.news2_risk, news2_complete = EXCLUDED.news2_complete,
                last_event_at = EXCLUDED.last_event_at, events_applied = EXCLUDED.events_applied, state = EXCLUDED.state,
                version = EXCLUDED.version, updated_at = now()
            """, binds: binds(rows.json)))
        cache.store(patients.lazy.map { (key: $0.patientId, value: $0) }, version: version)
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

    private static func binds(_ values: some PostgresNonThrowingEncodable) -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(values)
        return bindings
    }
}
