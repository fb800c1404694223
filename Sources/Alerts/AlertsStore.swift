import Events
import Foundation
import PostgresNIO
import ProjectionKit
import ServiceSupport

/// Reads and writes the `alerts` schema in bulk.
///
/// - `alerts.subjects`: one row per patient or device, its state as JSON and the
///   next time a rule falls due (`next_due_at`, indexed, for the clock);
/// - `alerts.alerts`: one row per alert, its latest snapshot and filter columns;
/// - `alerts.changes`: every change (the outbox, relayed to `iomt.alerts.v1`, and
///   the history the live stream resumes from).
enum AlertsStore {
    /// The notification channel a change is announced on.
    static let channel = "iomt_alerts"
    /// First key of the subject advisory locks ("al").
    static let lockNamespace: Int32 = 0x616C

    static let migrations: [Migration] = [
        Migration(version: 1, name: "subjects, alerts, changes", statements: [
            "CREATE SCHEMA IF NOT EXISTS alerts",
            """
            CREATE TABLE alerts.subjects (
                subject_key text PRIMARY KEY,
                state json NOT NULL,
                next_due_at timestamptz,
                updated_at timestamptz NOT NULL DEFAULT now()
            ) WITH (fillfactor = 80)
            """,
            "CREATE INDEX subjects_next_due ON alerts.subjects (next_due_at) WHERE next_due_at IS NOT NULL",
            """
            CREATE TABLE alerts.alerts (
                alert_id text PRIMARY KEY,
                subject_key text NOT NULL,
                rule text NOT NULL,
                priority text NOT NULL,
                status text NOT NULL,
                patient_id text,
                device_id text,
                facility_id text,
                opened_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                version integer NOT NULL,
                snapshot json NOT NULL
            )
            """,
            "CREATE INDEX alerts_active_subject ON alerts.alerts (subject_key) WHERE status <> 'resolved'",
            "CREATE INDEX alerts_status ON alerts.alerts (status, priority, opened_at, alert_id)",
            "CREATE INDEX alerts_patient ON alerts.alerts (patient_id, opened_at)",
            "CREATE INDEX alerts_device ON alerts.alerts (device_id, opened_at)",
            "CREATE INDEX alerts_facility ON alerts.alerts (facility_id, status, opened_at)",
            """
            CREATE TABLE alerts.changes (
                seq bigserial PRIMARY KEY,
                alert_id text NOT NULL,
                version integer NOT NULL,
                facility_id text,
                patient_id text,
                snapshot json NOT NULL,
                changed_at timestamptz NOT NULL DEFAULT now(),
                relayed boolean NOT NULL DEFAULT false
            )
            """,
            "CREATE INDEX changes_unrelayed ON alerts.changes (seq) WHERE NOT relayed",
        ]),
    ]

    /// Takes the transaction-scoped lock of each subject, in hash order.
    static func lock(_ keys: [String], context: ProjectionContext) async throws {
        guard !keys.isEmpty else { return }
        try await context.query("""
            SELECT count(pg_advisory_xact_lock(\(lockNamespace), h)) FROM (
                SELECT DISTINCT hashtext(k) AS h FROM unnest(\(keys)::text[]) AS u(k) ORDER BY 1
            ) AS keys
            """)
    }

    static func loadSubjects(_ keys: [String], context: ProjectionContext) async throws -> [String: AlertSubject] {
        guard !keys.isEmpty else { return [:] }
        var result: [String: AlertSubject] = [:]
        let document = JSONDocument()
        for try await (key, state) in try await context.query(
            "SELECT subject_key, state::text FROM alerts.subjects WHERE subject_key = ANY(\(keys))"
        ).decode((String, String).self) {
            try document.parse(Array(state.utf8)) { root in result[key] = AlertSubject(key: key, json: root) }
        }
        return result
    }

    static func loadActiveAlerts(of keys: [String], context: ProjectionContext) async throws -> [String: AlertRecord] {
        guard !keys.isEmpty else { return [:] }
        return try await loadAlerts(context.query(
            "SELECT subject_key, snapshot::text FROM alerts.alerts WHERE subject_key = ANY(\(keys)) AND status <> 'resolved'"
        ))
    }

    /// The subjects and states of alerts by id (for acknowledgements).
    static func lookUp(_ ids: [String], context: ProjectionContext) async throws -> [String: AlertRecord] {
        guard !ids.isEmpty else { return [:] }
        return try await loadAlerts(context.query("SELECT subject_key, snapshot::text FROM alerts.alerts WHERE alert_id = ANY(\(ids))"))
    }

    private static func loadAlerts(_ rows: PostgresRowSequence) async throws -> [String: AlertRecord] {
        var result: [String: AlertRecord] = [:]
        let document = JSONDocument()
        for try await (key, snapshot) in rows.decode((String, String).self) {
            try document.parse(Array(snapshot.utf8)) { root in
                let alert = AlertRecord(snapshot: try AlertChanged.decode(root), subjectKey: key)
                result[alert.id] = alert
            }
        }
        return result
    }

    /// Subjects whose next rule falls due at or before `time`.
    static func dueSubjects(at time: EventTime, limit: Int, context: ProjectionContext) async throws -> [String] {
        var keys: [String] = []
        for try await key in try await context.query("""
            SELECT subject_key FROM alerts.subjects WHERE next_due_at <= to_timestamp(\(Double(time.microseconds) / 1_000_000))
            ORDER BY next_due_at LIMIT \(limit)
            """).decode(String.self) {
            keys.append(key)
        }
        return keys
    }

    static func save(subjects: [(AlertSubject, EventTime?)], context: ProjectionContext) async throws {
        guard !subjects.isEmpty else { return }
        var rows = BulkRows()
        for (subject, due) in subjects {
            rows.row { row in
                row.member("subject_key", subject.key)
                row.key("state")
                row.raw(subject.json)
                row.member("next_due_at", due)
            }
        }
        try await context.query("""
            INSERT INTO alerts.subjects (subject_key, state, next_due_at, updated_at)
            SELECT subject_key, state, next_due_at, now() FROM json_to_recordset(\(rows.json)::json) AS r(subject_key text, state json, next_due_at timestamptz)
            ON CONFLICT (subject_key) DO UPDATE SET state = EXCLUDED.state, next_due_at = EXCLUDED.next_due_at, updated_at = now()
            """)
    }

    /// Writes the latest state of changed alerts, appends every change to
    /// `alerts.changes` and announces each on ``channel`` (delivered at commit).
    static func save(changes: [AlertRecord], context: ProjectionContext) async throws {
        guard !changes.isEmpty else { return }
        var latest: [String: AlertRecord] = [:]
        var history = BulkRows()
        for change in changes {
            latest[change.id] = change
            history.row { row in
                row.member("alert_id", change.id)
                row.member("version", change.snapshot.version)
                row.member("facility_id", change.snapshot.facilityId)
                row.member("patient_id", change.snapshot.patientId)
                row.key("snapshot")
                row.raw(change.snapshot.json)
            }
        }
        var current = BulkRows()
        for alert in latest.values.sorted(by: { $0.id < $1.id }) {
            current.row { row in
                row.member("alert_id", alert.id)
                row.member("subject_key", alert.subjectKey)
                row.member("rule", alert.snapshot.rule)
                row.member("priority", alert.snapshot.priority.rawValue)
                row.member("status", alert.snapshot.status.rawValue)
                row.member("patient_id", alert.snapshot.patientId)
                row.member("device_id", alert.snapshot.deviceId)
                row.member("facility_id", alert.snapshot.facilityId)
                row.member("opened_at", alert.snapshot.openedAt)
                row.member("updated_at", alert.snapshot.updatedAt)
                row.member("version", alert.snapshot.version)
                row.key("snapshot")
                row.raw(alert.snapshot.json)
            }
        }
        try await context.query("""
            INSERT INTO alerts.alerts (alert_id, subject_key, rule, priority, status, patient_id, device_id, facility_id, opened_at, updated_at, version, snapshot)
            SELECT * FROM json_to_recordset(\(current.json)::json) AS r(alert_id text, subject_key text, rule text, priority text, status text,
                patient_id text, device_id text, facility_id text, opened_at timestamptz, updated_at timestamptz, version integer, snapshot json)
            ON CONFLICT (alert_id) DO UPDATE SET priority = EXCLUDED.priority, status = EXCLUDED.status, facility_id = EXCLUDED.facility_id,
                patient_id = EXCLUDED.patient_id, updated_at = EXCLUDED.updated_at, version = EXCLUDED.version, snapshot = EXCLUDED.snapshot
            """)
        try await context.query("""
            WITH appended AS (
                INSERT INTO alerts.changes (alert_id, version, facility_id, patient_id, snapshot)
                SELECT alert_id, version, facility_id, patient_id, snapshot
                FROM json_to_recordset(\(history.json)::json) AS r(alert_id text, version integer, facility_id text, patient_id text, snapshot json)
                RETURNING seq, snapshot
            )
            SELECT count(pg_notify(\(channel), json_build_object('seq', seq, 'alert', snapshot)::text)) FROM appended
            """)
    }
}

