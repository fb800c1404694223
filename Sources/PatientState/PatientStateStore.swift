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
        // The document is written by this module's JSON writer and read as text
        // by every reader; a `json` column only made PostgreSQL validate every
        // patient's document of every batch again.
        Migration(version: 2, name: "patient documents as text", statements: [
            "ALTER TABLE patient_state.patients ALTER COLUMN state TYPE text",
        ]),
        // A write that leaves the version as it was (a manual fix) resets it, so
        // no worker folds onto a cached copy the write made stale.
        Migration(version: 3, name: "row versions reset by other writers", statements: patientRows.versionGuardStatements),
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

    /// The table ``VersionedRowCache/load(_:from:context:parse:found:)`` reads
    /// patients from.
    static let patientRows = VersionedRowTable("patient_state.patients", keyColumn: "patient_id")

    /// Locks `patients` for the transaction and loads their rows. Two workers can
    /// touch one patient (its care events and its devices' events live in
    /// different partitions), so each takes a transaction-scoped advisory lock per
    /// patient, in hash order to keep deadlocks rare (PostgreSQL breaks any that
    /// remain and the runtime retries the batch). Advisory locks cost no row
    /// writes, unlike `SELECT … FOR UPDATE`.
    static func lockAndLoadPatients(_ patients: Set<String>, cache: VersionedRowCache<PatientRecord>, context: ProjectionContext) async throws -> [String: PatientRecord] {
        guard !patients.isEmpty else { return [:] }
        let ids = Array(patients)
        try await context.lock(ids, namespace: lockNamespace)
        var result: [String: PatientRecord] = [:]
        result.reserveCapacity(ids.count)
        try await cache.load(ids, from: patientRows, context: context) { id, root in
            PatientRecord(patientId: id, json: root)
        } found: { id, record in
            result[id] = record
        }
        return result
    }

    /// Writes the patients in one statement, columns bound as binary arrays
    /// (PostgreSQL parses no JSON recordset and validates no document), and
    /// caches them under the row version written. Absent values are the
    /// sentinels of `ArrayColumns`.
    static func save(patients: [PatientRecord], cache: VersionedRowCache<PatientRecord>, context: ProjectionContext) async throws {
        guard !patients.isEmpty else { return }
        let version = VersionedRowCache<PatientRecord>.newVersion()
        var ids: [String] = [], facilities: [String] = [], units: [String] = [], beds: [String] = [], statuses: [String] = []
        var totals: [Int32] = [], risks: [String] = [], complete: [Bool] = [], lastEvents: [Int64] = [], applied: [Int64] = []
        var states = DocumentArray(reservingBytes: patients.count * 1_000)
        for record in patients {
            let score = record.news2
            ids.append(record.patientId)
            facilities.append(record.location?.value.facilityId ?? "")
            units.append(record.location?.value.unit ?? "")
            beds.append(record.location?.value.bed ?? "")
            statuses.append((record.status?.value ?? .unknown).rawValue)
            totals.append(Int32(clamping: score.total))
            risks.append(score.risk.rawValue)
            complete.append(score.complete)
            lastEvents.append(ArrayColumns.microseconds(record.lastEventAt))
            applied.append(Int64(record.eventsApplied))
            states.append { record.write(to: &$0) }
        }
        try await context.execute("""
            INSERT INTO patient_state.patients AS p (
                patient_id, facility_id, unit, bed, status, news2_total, news2_risk, news2_complete, last_event_at, events_applied, state, version, updated_at)
            SELECT id, nullif(facility, ''), nullif(unit, ''), nullif(bed, ''), status, total, risk, complete,
                   \(unescaped: ArrayColumns.timestamp("last")), applied, state, \(version), now()
            FROM unnest(\(ids)::text[], \(facilities)::text[], \(units)::text[], \(beds)::text[], \(statuses)::text[], \(totals)::int4[],
                        \(risks)::text[], \(complete)::bool[], \(lastEvents)::int8[], \(applied)::int8[], \(states)::text[])
                 AS r(id, facility, unit, bed, status, total, risk, complete, last, applied, state)
            ON CONFLICT (patient_id) DO UPDATE SET
                facility_id = EXCLUDED.facility_id, unit = EXCLUDED.unit, bed = EXCLUDED.bed, status = EXCLUDED.status,
                news2_total = EXCLUDED.news2_total, news2_risk = EXCLUDED.news2_risk, news2_complete = EXCLUDED.news2_complete,
                last_event_at = EXCLUDED.last_event_at, events_applied = EXCLUDED.events_applied, state = EXCLUDED.state,
                version = EXCLUDED.version, updated_at = now()
            """)
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
        try await context.execute(PostgresQuery(unsafeSQL: """
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
