/// `iomt.vitals.observed.v1`: vital-sign observations from a device.
public struct VitalsObserved: EventData, Hashable {
    /// Most observations a single event may carry.
    public static let maximumObservations = 64

    /// The measuring device.
    public var deviceId: String
    /// The patient, when the device knows it; otherwise the device's current
    /// assignment says.
    public var patientId: String?
    /// The values (1…64), as sent; see ``Observation/normalized``.
    public var observations: [Observation]

    /// Creates the payload.
    public init(deviceId: String, patientId: String? = nil, observations: [Observation]) {
        self.deviceId = deviceId
        self.patientId = patientId
        self.observations = observations
    }

    /// Keyed by deviceId.
    public var partitionKey: String { deviceId }

    /// Decodes and validates the payload.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> VitalsObserved {
        var deviceId: String?, patientId: String?, observations: [Observation]?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("deviceId") { try FieldReader.set(&deviceId, FieldReader.identifier(member, "deviceId"), "deviceId") }
            else if key.isString("patientId") { try FieldReader.set(&patientId, FieldReader.identifier(member, "patientId"), "patientId") }
            else if key.isString("observations") { try FieldReader.set(&observations, decodeObservations(member), "observations") }
        }
        return VitalsObserved(
            deviceId: try FieldReader.required(deviceId, "deviceId"),
            patientId: patientId,
            observations: try FieldReader.required(observations, "observations")
        )
    }

    private static func decodeObservations(_ value: JSONValue) throws(EventValidationError) -> [Observation] {
        guard value.kind == .array else {
            throw EventValidationError(.invalidField, path: "observations", "must be an array")
        }
        guard (1...maximumObservations).contains(value.count) else {
            throw EventValidationError(.invalidField, path: "observations", "must hold 1 to \(maximumObservations) observations")
        }
        var observations: [Observation] = []
        observations.reserveCapacity(value.count)
        try value.forEachElement { position, element throws(EventValidationError) in
            do throws(EventValidationError) {
                observations.append(try Observation.decode(element))
            } catch {
                throw error.within("[\(position)]").within("observations")
            }
        }
        return observations
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("deviceId", deviceId)
        writer.member("patientId", patientId)
        writer.key("observations")
        writer.beginArray()
        for observation in observations { observation.encode(into: &writer) }
        writer.endArray()
        writer.endObject()
    }
}
