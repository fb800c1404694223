/// One measured value of a `vitals.observed` event.
public struct Observation: Sendable, Hashable {
    /// LOINC code.
    public var code: String
    /// The value, in `unit`.
    public var value: Double
    /// UCUM unit.
    public var unit: String

    /// Creates an observation.
    public init(code: String, value: Double, unit: String) {
        self.code = code
        self.value = value
        self.unit = unit
    }

    /// The observation in its code's canonical unit (`[degF]` becomes `Cel`);
    /// unknown codes are returned unchanged.
    public var normalized: Observation {
        // Most observations arrive in their code's canonical unit: comparing the
        // unit's name decides, without copying the code's description.
        guard let canonical = VitalSignCode.canonicalUCUM(of: code), canonical != unit,
              let known = VitalSignCode.known(code), let unit = known.unit(unit) else { return self }
        return Observation(code: code, value: unit.toCanonical(value), unit: canonical)
    }

    static func decode(_ value: JSONValue) throws(EventValidationError) -> Observation {
        var code: String?
        var number: Double?
        var unit: String?
        try FieldReader.members(of: value) { key, member throws(EventValidationError) in
            if key.isString("code") {
                try FieldReader.set(&code, FieldReader.string(member, "code"), "code")
            } else if key.isString("value") {
                try FieldReader.set(&number, FieldReader.number(member, "value"), "value")
            } else if key.isString("unit") {
                try FieldReader.set(&unit, FieldReader.label(member, "unit"), "unit")
            }
        }
        let observation = Observation(
            code: try FieldReader.required(code, "code"),
            value: try FieldReader.required(number, "value"),
            unit: try FieldReader.required(unit, "unit")
        )
        try observation.validate()
        return observation
    }

    /// Checks the code's form, and for known codes the unit and the range.
    func validate() throws(EventValidationError) {
        guard VitalSignCode.isWellFormed(code) else {
            throw EventValidationError(.invalidField, path: "code", "\"\(code)\" is not a LOINC code (digits, a dash and a check digit)")
        }
        if code == VitalSignCode.bloodPressurePanel {
            throw EventValidationError(.invalidField, path: "code", "85354-9 (blood pressure panel) is not a value: send its components 8480-6 and 8462-4")
        }
        guard let known = VitalSignCode.known(code) else { return }
        guard let accepted = known.unit(unit) else {
            let expected = known.units.map { "\"\($0.ucum)\"" }.joined(separator: " or ")
            throw EventValidationError(.invalidUnit, path: "unit", "\"\(unit)\" is not a unit for \(code) (expected \(expected))")
        }
        guard accepted.range.contains(value) else {
            throw EventValidationError(
                .outOfRange, path: "value",
                "\(FieldReader.format(value)) \(unit) is outside \(FieldReader.format(accepted.range.lowerBound))…\(FieldReader.format(accepted.range.upperBound)) for \(code)"
            )
        }
    }

    func encode(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("code", code)
        writer.member("value", value)
        writer.member("unit", unit)
        writer.endObject()
    }
}
