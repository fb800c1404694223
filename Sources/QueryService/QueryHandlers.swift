import AssetInventory
import Events
import Foundation
import Hummingbird
import Kafka
import Logging
import PatientState
import PostgresNIO
import ServiceSupport

/// The `/v1` endpoints. Every query runs as the read-only role; every response
/// holding patient data is audited first.
struct QueryHandlers: Sendable {
    let client: PostgresClient
    let audit: AuditTrail
    let patientReads: AuditedPatientReads
    let logEnds: LogEnds
    let logger: Logger

    // MARK: Patients

    func listPatients(_ request: Request, _ context: QueryRequestContext) async throws -> Response {
        let identity = try context.caller
        try Scope.require(identity, .clinician)
        let parameters = QueryParameters(request: request)
        let facility = try parameters.identifier("facility")
        let unit = try parameters.string("unit")
        let status = try parameters.choice("status", PatientStatus.allCases.map(\.rawValue))
        let risk = try parameters.choice("risk", ["low", "low-medium", "medium", "high"])
        let limit = try parameters.limit
        let after = try parameters.cursor
        let scope = Scope(identity: identity)
        let rows = try await client.query("""
            SELECT patient_id, facility_id, unit, bed, status, news2_total, news2_risk, news2_complete,
                   (extract(epoch FROM last_event_at) * 1000000)::int8, events_applied
            FROM patient_state.patients
            WHERE (\(facility)::text IS NULL OR facility_id = \(facility)) AND (\(unit)::text IS NULL OR unit = \(unit))
              AND (\(status)::text IS NULL OR status = \(status)) AND (\(risk)::text IS NULL OR news2_risk = \(risk))
              AND (\(scope.facilities == nil) OR facility_id = ANY(\(scope.facilities ?? [])))
              AND (\(after)::text IS NULL OR patient_id > \(after))
            ORDER BY patient_id LIMIT \(limit + 1)
            """, logger: logger)
        var items: [(String, String?, String?, String?, String, Int?, String?, Bool?, Int64?, Int64)] = []
        for try await row in rows.decode((String, String?, String?, String?, String, Int?, String?, Bool?, Int64?, Int64).self) { items.append(row) }
        let page = Array(items.prefix(limit))
        try await audit.record(identity, action: "list-patients", resource: "patients", patients: page.map(\.0), outcome: "ok", context: context)
        return Self.page(page, bytesPerItem: 256, cursor: items.count > limit ? page.last?.0 : nil) { item, writer in
            writer.beginObject()
            writer.member("patientId", item.0)
            writer.member("status", item.4)
            ResourceJSON.optional(&writer, "facilityId", item.1)
            ResourceJSON.optional(&writer, "unit", item.2)
            ResourceJSON.optional(&writer, "bed", item.3)
            writer.key("news2")
            if let total = item.5, let risk = item.6, let complete = item.7 {
                writer.beginObject()
                writer.member("total", total)
                writer.member("risk", risk)
                writer.member("complete", complete)
                writer.endObject()
            } else {
                writer.null()
            }
            ResourceJSON.time(&writer, "lastEventAt", item.8.map(EventTime.init(microseconds:)))
            writer.member("eventsApplied", Int(item.9))
            writer.endObject()
        }
    }

    /// Loads a patient visible to the caller and the devices assigned to it (one
    /// prepared statement); 404 (audited) when unknown or out of scope.
    private func visiblePatient(_ id: String?, identity: AccessIdentity, action: String, context: QueryRequestContext) async throws -> (record: PatientRecord, devices: [String]) {
        guard let id, Identifier.isValid(id) else { throw ProblemDetails.notFound("no such patient") }
        let found = try await patient(id, from: client.execute(PatientLookup(patientId: id), logger: logger))
        guard let found, Scope(identity: identity).allows(facility: found.record.location?.value.facilityId) else {
            try await audit.record(identity, action: action, resource: "patient", patients: [id], outcome: "not-found-or-denied", context: context)
            throw ProblemDetails.notFound("no such patient")
        }
        return found
    }

    /// The patient record and devices of a lookup's row, if it returned one.
    private func patient(_ id: String, from rows: some AsyncSequence<(String, [String]), any Error>) async throws -> (record: PatientRecord, devices: [String])? {
        var found: (record: PatientRecord, devices: [String])?
        for try await (state, devices) in rows {
            if let record = try patientRecord(id, state: state) { found = (record, devices) }
        }
        return found
    }

    /// The patient record of a state document.
    private func patientRecord(_ id: String, state: String) throws -> PatientRecord? {
        try JSONDocument().parse(Array(state.utf8)) { PatientRecord(patientId: id, json: $0) }
    }

    /// The statement that reads the patient also writes the read's audit row
    /// (``AuditedPatientReads``, batched with concurrent reads): a read returns
    /// only once its row is committed, and a failed insert fails the read,
    /// answered 503 by the middleware.
    func getPatient(_ request: Request, _ context: QueryRequestContext) async throws -> Response {
        let identity = try context.caller
        try Scope.require(identity, .clinician)
        guard let id = context.parameters.get("patientId"), Identifier.isValid(id) else { throw ProblemDetails.notFound("no such patient") }
        let read = PatientRead(
            patientId: id, facilities: Scope(identity: identity).facilities, at: Date(), subject: identity.subject,
            roles: identity.roles.map(\.rawValue).sorted(), clientAddress: context.remoteAddress?.ipAddress, breakGlass: identity.breakGlass
        )
        guard let (state, devices) = try await patientReads.read(read),
              let record = try patientRecord(id, state: state)
        else {
            throw ProblemDetails.notFound("no such patient")
        }
        var writer = JSONWriter(capacity: 2048)
        ResourceJSON.patient(record, devices: devices, into: &writer)
        return .json(writer.bytes)
    }

    func listPatientAlerts(_ request: Request, _ context: QueryRequestContext) async throws -> Response {
        let identity = try context.caller
        try Scope.require(identity, .clinician)
        let (record, _) = try await visiblePatient(context.parameters.get("patientId"), identity: identity, action: "list-patient-alerts", context: context)
        return try await alerts(request, context, identity: identity, patient: record.patientId)
    }

    // MARK: Devices

    func listDevices(_ request: Request, _ context: QueryRequestContext) async throws -> Response {
        let identity = try context.caller
        try Scope.require(identity, .clinician, .ops)
        let parameters = QueryParameters(request: request)
        let kind = try parameters.string("kind")
        let status = try parameters.choice("status", DeviceStatus.allCases.map(\.rawValue))
        let facility = try parameters.identifier("facility")
        let unit = try parameters.string("unit")
        let online = try parameters.bool("online")
        let batteryBelow = try parameters.number("batteryBelow", in: 0...100)
        let limit = try parameters.limit
        let after = try parameters.cursor
        let scope = identity.roles.contains(.ops) ? nil : Scope(identity: identity).facilities
        var records: [DeviceRecord] = []
        let document = JSONDocument()
        for try await (id, state) in try await client.query("""
            SELECT device_id, state::text FROM asset_inventory.devices
            WHERE (\(kind)::text IS NULL OR kind = \(kind)) AND (\(status)::text IS NULL OR status = \(status))
              AND (\(facility)::text IS NULL OR facility_id = \(facility)) AND (\(unit)::text IS NULL OR unit = \(unit))
              AND (\(batteryBelow)::float8 IS NULL OR battery_percent < \(batteryBelow))
              AND (\(online)::boolean IS NULL OR \(online) = (last_seen_at IS NOT NULL AND last_seen_at >= now() - make_interval(secs => 3 * heartbeat_interval_seconds)))
              AND (\(scope == nil) OR facility_id = ANY(\(scope ?? [])))
              AND (\(after)::text IS NULL OR device_id > \(after))
            ORDER BY device_id LIMIT \(limit + 1)
            """, logger: logger).decode((String, String).self) {
            try document.parse(Array(state.utf8)) { root in
                if let record = DeviceRecord(deviceId: id, json: root) { records.append(record) }
            }
        }
        let page = Array(records.prefix(limit))
        let patients = page.compactMap { $0.assignment?.value ?? nil }
        if !patients.isEmpty {
            try await audit.record(identity, action: "list-devices", resource: "devices", patients: patients, outcome: "ok", context: context)
        }
        let now = EventTime(Date())
        return Self.page(page, bytesPerItem: 512, cursor: records.count > limit ? page.last?.deviceId : nil) { record, writer in
            ResourceJSON.device(record, now: now, into: &writer)
        }
    }

    func getDevice(_ request: Request, _ context: QueryRequestContext) async throws -> Response {
        let identity = try context.caller
        try Scope.require(identity, .clinician, .ops)
        guard let id = context.parameters.get("deviceId"), Identifier.isValid(id) else { throw ProblemDetails.notFound("no such device") }
        var record: DeviceRecord?
        for try await state in try await client.query("SELECT state::text FROM asset_inventory.devices WHERE device_id = \(id)", logger: logger).decode(String.self) {
            record = try JSONDocument().parse(Array(state.utf8)) { DeviceRecord(deviceId: id, json: $0) }
        }
        let visible = identity.roles.contains(.ops) || Scope(identity: identity).allows(facility: record?.facilityId)
        guard let record, visible else { throw ProblemDetails.notFound("no such device") }
        if let patient = record.assignment?.value ?? nil {
            try await audit.record(identity, action: "get-device", resource: "device", patients: [patient], outcome: "ok", context: context)
        }
        var writer = JSONWriter(capacity: 1024)
        ResourceJSON.device(record, now: EventTime(Date()), into: &writer)
        return .json(writer.bytes)
    }

    // MARK: Alerts

    func listAlerts(_ request: Request, _ context: QueryRequestContext) async throws -> Response {
        let identity = try context.caller
        try Scope.require(identity, .clinician, .ops)
        return try await alerts(request, context, identity: identity, patient: nil)
    }

    /// Alerts newest first; ops see device rules only, without patients.
    private func alerts(_ request: Request, _ context: QueryRequestContext, identity: AccessIdentity, patient: String?) async throws -> Response {
        let parameters = QueryParameters(request: request)
        let status = try parameters.choice("status", AlertChanged.Status.allCases.map(\.rawValue))
        let priority = patient == nil ? try parameters.choice("priority", AlarmPriority.allCases.map(\.rawValue)) : nil
        let rule = patient == nil ? try parameters.choice("rule", ["news2.high", "news2.medium", "news2.single-red", "device.alarm", "device.offline", "device.battery-low"]) : nil
        let device = patient == nil ? try parameters.identifier("deviceId") : nil
        let limit = try parameters.limit
        let cursor = try parameters.cursor
        var afterTime: Int64?
        var afterID: String?
        if let cursor {
            let parts = cursor.split(separator: "|", maxSplits: 1)
            guard parts.count == 2, let micros = Int64(parts[0]) else { throw parameters.problem("cursor", "is not a cursor returned by this API") }
            afterTime = micros
            afterID = String(parts[1])
        }
        let opsOnly = !identity.roles.contains(.admin) && !identity.roles.contains(.clinician)
        let scope = opsOnly ? nil : Scope(identity: identity).facilities
        var alerts: [(AlertChanged, Int64)] = []
        let document = JSONDocument()
        for try await (snapshot, opened) in try await client.query("""
            SELECT snapshot::text, (extract(epoch FROM opened_at) * 1000000)::int8 FROM alerts.alerts
            WHERE (\(status)::text IS NULL OR status = \(status)) AND (\(priority)::text IS NULL OR priority = \(priority))
              AND (\(rule)::text IS NULL OR rule = \(rule)) AND (\(device)::text IS NULL OR device_id = \(device))
              AND (\(patient)::text IS NULL OR patient_id = \(patient))
              AND (NOT \(opsOnly) OR rule LIKE 'device.%')
              AND (\(scope == nil) OR facility_id = ANY(\(scope ?? [])))
              AND (\(afterTime)::int8 IS NULL OR (opened_at, alert_id) < (to_timestamp(\(afterTime ?? 0)::float8 / 1000000), \(afterID ?? "")))
            ORDER BY opened_at DESC, alert_id DESC LIMIT \(limit + 1)
            """, logger: logger).decode((String, Int64).self) {
            alerts.append((try document.parse(Array(snapshot.utf8)) { try AlertChanged.decode($0) }, opened))
        }
        let page = Array(alerts.prefix(limit))
        let patients = opsOnly ? [] : Array(Set(page.compactMap(\.0.patientId))).sorted()
        if !patients.isEmpty || patient != nil {
            try await audit.record(identity, action: patient == nil ? "list-alerts" : "list-patient-alerts", resource: "alerts", patients: patient.map { [$0] } ?? patients, outcome: "ok", context: context)
        }
        return Self.page(page, bytesPerItem: 512, cursor: alerts.count > limit ? page.last.map { "\($0.1)|\($0.0.alertId)" } : nil) { item, writer in
            ResourceJSON.alert(item.0, redactPatient: opsOnly, into: &writer)
        }
    }

    func getAlert(_ request: Request, _ context: QueryRequestContext) async throws -> Response {
        let identity = try context.caller
        try Scope.require(identity, .clinician, .ops)
        guard let id = context.parameters.get("alertId"), Identifier.isValid(id) else { throw ProblemDetails.notFound("no such alert") }
        var alert: AlertChanged?
        for try await snapshot in try await client.query("SELECT snapshot::text FROM alerts.alerts WHERE alert_id = \(id)", logger: logger).decode(String.self) {
            alert = try JSONDocument().parse(Array(snapshot.utf8)) { try AlertChanged.decode($0) }
        }
        let opsOnly = !identity.roles.contains(.admin) && !identity.roles.contains(.clinician)
        guard let alert, opsOnly ? alert.rule.hasPrefix("device.") : Scope(identity: identity).allows(facility: alert.facilityId) else {
            throw ProblemDetails.notFound("no such alert")
        }
        if let patient = alert.patientId, !opsOnly {
            try await audit.record(identity, action: "get-alert", resource: "alert", patients: [patient], outcome: "ok", context: context)
        }
        var writer = JSONWriter(capacity: 512)
        ResourceJSON.alert(alert, redactPatient: opsOnly, into: &writer)
        return .json(writer.bytes)
    }

    // MARK: Projections and statistics

    func projections(_ request: Request, _ context: QueryRequestContext) async throws -> Response {
        try Scope.require(try context.caller, .ops)
        var rows: [(String, String, Int, Int64, Int64?)] = []
        for try await row in try await client.query("""
            SELECT projection, topic, partition, next_offset, (extract(epoch FROM last_event_time) * 1000000)::int8
            FROM iomt_runtime.checkpoints ORDER BY projection, topic, partition
            """, logger: logger).decode((String, String, Int, Int64, Int64?).self) {
            rows.append(row)
        }
        let ends = await logEnds.ends(for: Set(rows.map { KafkaTopicPartition(topic: $0.1, partition: Int32($0.2)) }))
        let now = EventTime(Date())
        var writer = JSONWriter(capacity: 4096)
        writer.beginObject()
        writer.key("projections")
        writer.beginArray()
        for (name, partitions) in Dictionary(grouping: rows, by: \.0).sorted(by: { $0.key < $1.key }) {
            var total: Int64? = 0
            var newest: Int64?
            writer.beginObject()
            writer.member("name", name)
            writer.key("partitions")
            writer.beginArray()
            for (_, topic, partition, next, time) in partitions {
                let end = ends[KafkaTopicPartition(topic: topic, partition: Int32(partition))]
                let lag = end.map { max(0, $0 - next) }
                total = lag.flatMap { lag in total.map { $0 + lag } }
                if let time { newest = max(newest ?? time, time) }
                writer.beginObject()
                writer.member("topic", topic)
                writer.member("partition", partition)
                writer.member("nextOffset", Int(next))
                writer.key("logEnd")
                if let end { writer.integer(Int(end)) } else { writer.null() }
                writer.key("lag")
                if let lag { writer.integer(Int(lag)) } else { writer.null() }
                writer.endObject()
            }
            writer.endArray()
            writer.key("lag")
            if let total { writer.integer(Int(total)) } else { writer.null() }
            ResourceJSON.time(&writer, "newestEventTime", newest.map(EventTime.init(microseconds:)))
            ResourceJSON.optional(&writer, "freshnessSeconds", newest.map { Double(now.microseconds - $0) / 1_000_000 })
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return .json(writer.bytes)
    }

    func stats(_ request: Request, _ context: QueryRequestContext) async throws -> Response {
        try Scope.require(try context.caller, .analyst, .ops)
        func counts(_ sql: PostgresQuery) async throws -> [(String, Int)] {
            var result: [(String, Int)] = []
            for try await row in try await client.query(sql, logger: logger).decode((String, Int).self) { result.append(row) }
            return result
        }
        func object(_ writer: inout JSONWriter, _ name: String, _ values: [(String, Int)]) {
            writer.key(name)
            writer.beginObject()
            for (key, count) in values { writer.member(key, count) }
            writer.endObject()
        }
        var writer = JSONWriter(capacity: 1024)
        writer.beginObject()
        writer.key("patients")
        writer.beginObject()
        object(&writer, "byStatus", try await counts("SELECT status, count(*)::int FROM patient_state.patients GROUP BY status ORDER BY 1"))
        object(&writer, "byRisk", try await counts("SELECT coalesce(news2_risk, 'none'), count(*)::int FROM patient_state.patients GROUP BY 1 ORDER BY 1"))
        writer.endObject()
        writer.key("devices")
        writer.beginObject()
        object(&writer, "byStatus", try await counts("SELECT coalesce(status, 'unknown'), count(*)::int FROM asset_inventory.devices GROUP BY 1 ORDER BY 1"))
        let online = try await counts("""
            SELECT 'online', count(*)::int FROM asset_inventory.devices WHERE last_seen_at >= now() - make_interval(secs => 3 * heartbeat_interval_seconds)
            UNION ALL SELECT 'total', count(*)::int FROM asset_inventory.devices
            """)
        for (key, count) in online { writer.member(key, count) }
        writer.endObject()
        writer.key("alerts")
        writer.beginObject()
        object(&writer, "byStatus", try await counts("SELECT status, count(*)::int FROM alerts.alerts GROUP BY status ORDER BY 1"))
        object(&writer, "byPriority", try await counts("SELECT priority, count(*)::int FROM alerts.alerts WHERE status <> 'resolved' GROUP BY priority ORDER BY 1"))
        writer.endObject()
        writer.endObject()
        return .json(writer.bytes)
    }

    /// A list response: `{items: [...], nextCursor}`, the cursor encoding `key`
    /// (null on the last page).
    static func page<Item>(_ items: [Item], bytesPerItem: Int, cursor key: String?, _ write: (Item, inout JSONWriter) -> Void) -> Response {
        var writer = JSONWriter(capacity: bytesPerItem * items.count + 64)
        writer.beginObject()
        writer.key("items")
        writer.beginArray()
        for item in items { write(item, &writer) }
        writer.endArray()
        writer.key("nextCursor")
        if let key { writer.string(Cursor.encode(key)) } else { writer.null() }
        writer.endObject()
        return .json(writer.bytes)
    }
}

/// Log ends (high watermarks) for lag, from Kafka metadata.
struct LogEnds: Sendable {
    let consumer: KafkaConsumer

    func ends(for partitions: Set<KafkaTopicPartition>) async -> [KafkaTopicPartition: Int64] {
        var result: [KafkaTopicPartition: Int64] = [:]
        for partition in partitions {
            if let marks = try? await consumer.watermarks(for: partition, timeout: .seconds(2)) { result[partition] = marks.high }
        }
        return result
    }
}

/// A patient's state document and its assigned devices: the lookup behind
/// `GET /v1/patients/{id}`, prepared once per connection. Public so that
/// `iomt bench query` can time the bare statement as the service's limit.
public struct PatientLookup: PostgresPreparedStatement {
    /// The statement.
    public static let sql = """
        SELECT p.state::text, \(devices)
        FROM patient_state.patients p WHERE p.patient_id = $1
        """
    /// The assigned device ids of the patient row `p`, in order.
    static let devices = "ARRAY(SELECT d.device_id FROM patient_state.device_assignments d WHERE d.patient_id = p.patient_id ORDER BY d.device_id)"
    /// The state document (JSON text) and the assigned device ids.
    public typealias Row = (String, [String])

    /// The patient.
    public let patientId: String

    /// A lookup of `patientId`.
    public init(patientId: String) { self.patientId = patientId }

    /// Binds the patient id.
    public func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        bindings.append(patientId)
        return bindings
    }

    /// Decodes a row.
    public func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((String, [String]).self) }
}
