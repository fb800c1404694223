/// `iomt.alert.changed.v1`: an alert's full state after a change, with a version
/// that grows by one per change (consumers drop a version they have seen).
public struct AlertChanged: EventData, Hashable {
    /// Lifecycle state of an alert.
    public enum Status: String, Sendable, CaseIterable, Hashable {
        /// Raised, not yet acknowledged.
        case open
        /// Acknowledged by a person, condition still present.
        case acknowledged
        /// The condition cleared.
        case resolved
    }

    /// The alert.
    public var alertId: String
    /// Change number, from 1.
    public var version: Int
    /// The rule that raised it, e.g. `news2.high`.
    public var rule: String
    /// Priority.
    public var priority: AlarmPriority
    /// Lifecycle state.
    public var status: Status
    /// Human-readable description.
    public var message: String
    /// How many times the condition was seen while open.
    public var occurrences: Int
    /// Escalation steps taken while unacknowledged.
    public var escalationLevel: Int
    /// When it opened.
    public var openedAt: EventTime
    /// When this change happened.
    public var updatedAt: EventTime
    /// The patient, for patient rules.
    public var patientId: String?
    /// The device, for device rules.
    public var deviceId: String?
    /// When it was acknowledged.
    public var acknowledgedAt: EventTime?
    /// Who acknowledged it.
    public var acknowledgedBy: String?
    /// When it resolved.
    public var resolvedAt: EventTime?
    /// Facility of the patient or device, for scoping.
    public var facilityId: String?

    /// Creates the payload.
    public init(alertId: String, version: Int, rule: String, priority: AlarmPriority, status: Status, message: String, occurrences: Int, escalationLevel: Int, openedAt: EventTime, updatedAt: EventTime, patientId: String? = nil, deviceId: String? = nil, acknowledgedAt: EventTime? = nil, acknowledgedBy: String? = nil, resolvedAt: EventTime? = nil, facilityId: String? = nil) {
        self.alertId = alertId
        self.version = version
        self.rule = rule
        self.priority = priority
        self.status = status
        self.message = message
        self.occurrences = occurrences
        self.escalationLevel = escalationLevel
        self.openedAt = openedAt
        self.updatedAt = updatedAt
        self.patientId = patientId
        self.deviceId = deviceId
        self.acknowledgedAt = acknowledgedAt
        self.acknowledgedBy = acknowledgedBy
        self.resolvedAt = resolvedAt
        self.facilityId = facilityId
    }

    /// Keyed by alertId.
    public var partitionKey: String { alertId }

    /// Decodes and validates the payload.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> AlertChanged {
        var alertId: String?, version: Int?, rule: String?, priority: AlarmPriority?, status: Status?, message: String?
        var occurrences: Int?, escalation: Int?, openedAt: EventTime?, updatedAt: EventTime?
        var patientId: String?, deviceId: String?, acknowledgedAt: EventTime?, acknowledgedBy: String?, resolvedAt: EventTime?, facilityId: String?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("alertId") { try FieldReader.set(&alertId, FieldReader.identifier(member, "alertId"), "alertId") }
            else if key.isString("version") { try FieldReader.set(&version, FieldReader.integer(member, "version", in: 1...Int.max), "version") }
            else if key.isString("rule") { try FieldReader.set(&rule, FieldReader.label(member, "rule"), "rule") }
            else if key.isString("priority") { try FieldReader.set(&priority, FieldReader.choice(member, "priority", as: AlarmPriority.self), "priority") }
            else if key.isString("status") { try FieldReader.set(&status, FieldReader.choice(member, "status", as: Status.self), "status") }
            else if key.isString("message") { try FieldReader.set(&message, FieldReader.text(member, "message"), "message") }
            else if key.isString("occurrences") { try FieldReader.set(&occurrences, FieldReader.integer(member, "occurrences", in: 1...Int.max), "occurrences") }
            else if key.isString("escalationLevel") { try FieldReader.set(&escalation, FieldReader.integer(member, "escalationLevel", in: 0...Int.max), "escalationLevel") }
            else if key.isString("openedAt") { try FieldReader.set(&openedAt, FieldReader.time(member, "openedAt"), "openedAt") }
            else if key.isString("updatedAt") { try FieldReader.set(&updatedAt, FieldReader.time(member, "updatedAt"), "updatedAt") }
            else if key.isString("patientId") { try FieldReader.set(&patientId, FieldReader.identifier(member, "patientId"), "patientId") }
            else if key.isString("deviceId") { try FieldReader.set(&deviceId, FieldReader.identifier(member, "deviceId"), "deviceId") }
            else if key.isString("acknowledgedAt") { try FieldReader.set(&acknowledgedAt, FieldReader.time(member, "acknowledgedAt"), "acknowledgedAt") }
            else if key.isString("acknowledgedBy") { try FieldReader.set(&acknowledgedBy, FieldReader.label(member, "acknowledgedBy"), "acknowledgedBy") }
            else if key.isString("resolvedAt") { try FieldReader.set(&resolvedAt, FieldReader.time(member, "resolvedAt"), "resolvedAt") }
            else if key.isString("facilityId") { try FieldReader.set(&facilityId, FieldReader.identifier(member, "facilityId"), "facilityId") }
        }
        return AlertChanged(
            alertId: try FieldReader.required(alertId, "alertId"),
            version: try FieldReader.required(version, "version"),
            rule: try FieldReader.required(rule, "rule"),
            priority: try FieldReader.required(priority, "priority"),
            status: try FieldReader.required(status, "status"),
            message: try FieldReader.required(message, "message"),
            occurrences: try FieldReader.required(occurrences, "occurrences"),
            escalationLevel: try FieldReader.required(escalation, "escalationLevel"),
            openedAt: try FieldReader.required(openedAt, "openedAt"),
            updatedAt: try FieldReader.required(updatedAt, "updatedAt"),
            patientId: patientId, deviceId: deviceId,
            acknowledgedAt: acknowledgedAt, acknowledgedBy: acknowledgedBy, resolvedAt: resolvedAt, facilityId: facilityId
        )
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("alertId", alertId)
        writer.member("version", version)
        writer.member("rule", rule)
        writer.member("priority", priority.rawValue)
        writer.member("status", status.rawValue)
        writer.member("message", message)
        writer.member("occurrences", occurrences)
        writer.member("escalationLevel", escalationLevel)
        writer.member("openedAt", openedAt.rfc3339)
        writer.member("updatedAt", updatedAt.rfc3339)
        writer.member("patientId", patientId)
        writer.member("deviceId", deviceId)
        writer.member("acknowledgedAt", acknowledgedAt?.rfc3339)
        writer.member("acknowledgedBy", acknowledgedBy)
        writer.member("resolvedAt", resolvedAt?.rfc3339)
        writer.member("facilityId", facilityId)
        writer.endObject()
    }
}
