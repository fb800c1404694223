/// `iomt.patient.assessed.v1`: a clinician's assessment — consciousness,
/// supplemental oxygen and the SpO2 scale to score with. At least one is present.
public struct PatientAssessed: EventData, Hashable {
    /// The patient.
    public var patientId: String
    /// ACVPU level.
    public var consciousness: ConsciousnessLevel?
    /// True when the patient is on supplemental oxygen.
    public var supplementalOxygen: Bool?
    /// The NEWS2 SpO2 scale (1 or 2) set for the patient.
    public var spo2Scale: Int?

    /// Creates the payload.
    public init(patientId: String, consciousness: ConsciousnessLevel? = nil, supplementalOxygen: Bool? = nil, spo2Scale: Int? = nil) {
        self.patientId = patientId
        self.consciousness = consciousness
        self.supplementalOxygen = supplementalOxygen
        self.spo2Scale = spo2Scale
    }

    /// Keyed by patientId.
    public var partitionKey: String { patientId }

    /// Decodes and validates the payload.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> PatientAssessed {
        var patientId: String?, consciousness: ConsciousnessLevel?, oxygen: Bool?, scale: Int?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("patientId") { try FieldReader.set(&patientId, FieldReader.identifier(member, "patientId"), "patientId") }
            else if key.isString("consciousness") { try FieldReader.set(&consciousness, FieldReader.choice(member, "consciousness", as: ConsciousnessLevel.self), "consciousness") }
            else if key.isString("supplementalOxygen") { try FieldReader.set(&oxygen, FieldReader.bool(member, "supplementalOxygen"), "supplementalOxygen") }
            else if key.isString("spo2Scale") {
                let scaleValue = try FieldReader.integer(member, "spo2Scale", in: Int.min...Int.max)
                guard scaleValue == 1 || scaleValue == 2 else {
                    throw EventValidationError(.invalidField, path: "spo2Scale", "must be 1 or 2")
                }
                try FieldReader.set(&scale, scaleValue, "spo2Scale")
            }
        }
        let patient = try FieldReader.required(patientId, "patientId")
        guard consciousness != nil || oxygen != nil || scale != nil else {
            throw EventValidationError(.missingField, path: "", "must hold at least one of consciousness, supplementalOxygen, spo2Scale")
        }
        return PatientAssessed(patientId: patient, consciousness: consciousness, supplementalOxygen: oxygen, spo2Scale: scale)
    }

    /// Appends the JSON object.
    public func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("patientId", patientId)
        writer.member("consciousness", consciousness?.rawValue)
        writer.member("supplementalOxygen", supplementalOxygen)
        writer.member("spo2Scale", spo2Scale)
        writer.endObject()
    }
}
