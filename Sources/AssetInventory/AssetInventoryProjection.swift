import Events
import PostgresNIO
import ProjectionKit
import ServiceSupport

/// The asset-inventory projection (DESIGN §5): per device — kind, model,
/// manufacturer, serial, firmware, grade, facility/unit/room/bed/zone, status,
/// battery, signal, assigned patient, registered and last-seen times, heartbeat
/// interval. `online` is derived at read time from last-seen against three
/// heartbeat intervals (time passes without events).
///
/// A device's events all live in one partition, owned by one worker, so rows
/// need no cross-worker locking: each batch loads its devices' rows, folds, and
/// writes each changed device once.
public struct AssetInventoryProjection: Projection {
    /// Creates the projection.
    public init() {}

    /// `asset-inventory`.
    public var name: String { "asset-inventory" }
    /// `asset_inventory`.
    public var schema: String { "asset_inventory" }
    /// Device events.
    public var topics: [EventTopic] { [.deviceEvents] }
    /// Every device event type.
    public var eventTypes: Set<EventType> { Set(EventType.allCases.filter(\.isDeviceEvent)) }

    /// The `asset_inventory` schema.
    public var migrations: [Migration] {
        [
            Migration(version: 1, name: "devices", statements: [
                "CREATE SCHEMA IF NOT EXISTS asset_inventory",
                """
                CREATE TABLE asset_inventory.devices (
                    device_id text PRIMARY KEY,
                    facility_id text,
                    unit text,
                    kind text,
                    status text,
                    grade text,
                    battery_percent double precision,
                    assigned_patient_id text,
                    heartbeat_interval_seconds integer NOT NULL,
                    last_seen_at timestamptz,
                    registered_at timestamptz,
                    events_applied bigint NOT NULL,
                    state json NOT NULL,
                    updated_at timestamptz NOT NULL DEFAULT now()
                ) WITH (fillfactor = 80)
                """,
                "CREATE INDEX devices_facility_unit ON asset_inventory.devices (facility_id, unit, device_id)",
                "CREATE INDEX devices_kind ON asset_inventory.devices (kind, device_id)",
                "CREATE INDEX devices_assigned_patient ON asset_inventory.devices (assigned_patient_id, device_id)",
            ]),
        ]
    }

    /// Folds the batch per device and writes each changed device once.
    public func apply(_ batch: [ProjectedEvent], in context: ProjectionContext) async throws {
        var ids: [String] = []
        var seen = Set<String>()
        for projected in batch {
            if let id = projected.event.payload.deviceId, seen.insert(id).inserted { ids.append(id) }
        }
        var devices: [String: DeviceRecord] = [:]
        let document = JSONDocument()
        let rows = try await context.query("SELECT device_id, state::text FROM asset_inventory.devices WHERE device_id = ANY(\(ids))")
        for try await (id, state) in rows.decode((String, String).self) {
            try document.parse(Array(state.utf8)) { root in devices[id] = DeviceRecord(deviceId: id, json: root) }
        }
        for projected in batch {
            guard let id = projected.event.payload.deviceId else { continue }
            var record = devices[id] ?? DeviceRecord(deviceId: id)
            record.apply(projected.event)
            devices[id] = record
        }
        var bulk = BulkRows()
        for id in ids {
            guard let record = devices[id] else { continue }
            bulk.row { row in
                row.member("device_id", id)
                row.member("facility_id", record.facilityId)
                row.member("unit", record.placement?.value.unit)
                row.member("kind", record.registration?.value.kind)
                row.member("status", record.condition?.value.status.rawValue)
                row.member("grade", record.registration?.value.grade.rawValue)
                row.member("battery_percent", record.battery?.value)
                row.member("assigned_patient_id", record.assignment?.value ?? nil)
                row.member("heartbeat_interval_seconds", record.heartbeatIntervalSeconds)
                row.member("last_seen_at", record.lastSeenAt)
                row.member("registered_at", record.registration?.at)
                row.member("events_applied", record.eventsApplied)
                row.key("state")
                row.raw(record.json)
            }
        }
        try await context.query("""
            INSERT INTO asset_inventory.devices (device_id, facility_id, unit, kind, status, grade, battery_percent, assigned_patient_id,
                heartbeat_interval_seconds, last_seen_at, registered_at, events_applied, state, updated_at)
            SELECT device_id, facility_id, unit, kind, status, grade, battery_percent, assigned_patient_id,
                heartbeat_interval_seconds, last_seen_at, registered_at, events_applied, state, now()
            FROM json_to_recordset(\(bulk.json)::json) AS r(device_id text, facility_id text, unit text, kind text, status text, grade text,
                battery_percent double precision, assigned_patient_id text, heartbeat_interval_seconds integer, last_seen_at timestamptz,
                registered_at timestamptz, events_applied bigint, state json)
            ON CONFLICT (device_id) DO UPDATE SET
                facility_id = EXCLUDED.facility_id, unit = EXCLUDED.unit, kind = EXCLUDED.kind, status = EXCLUDED.status, grade = EXCLUDED.grade,
                battery_percent = EXCLUDED.battery_percent, assigned_patient_id = EXCLUDED.assigned_patient_id,
                heartbeat_interval_seconds = EXCLUDED.heartbeat_interval_seconds, last_seen_at = EXCLUDED.last_seen_at,
                registered_at = EXCLUDED.registered_at, events_applied = EXCLUDED.events_applied, state = EXCLUDED.state, updated_at = now()
            """)
    }
}
