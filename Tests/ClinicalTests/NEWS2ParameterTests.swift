import Clinical
import Testing

@Suite("NEWS2 parameters from LOINC codes")
struct NEWS2ParameterTests {
    @Test(
        "each vital-sign code that feeds NEWS2 maps to its parameter",
        arguments: [
            ("9279-1", NEWS2Parameter.respirationRate),
            ("59408-5", .spo2),
            ("2708-6", .spo2),
            ("8480-6", .systolicBloodPressure),
            ("8867-4", .pulse),
            ("8310-5", .temperature),
        ]
    )
    func mapsCode(code: String, parameter: NEWS2Parameter) {
        #expect(NEWS2Parameter(loinc: code) == parameter)
    }

    @Test(
        "codes that do not feed NEWS2 map to no parameter",
        arguments: ["8462-4", "85354-9", "29463-7", "99504-3", ""]
    )
    func otherCodes(code: String) {
        #expect(NEWS2Parameter(loinc: code) == nil)
    }

    @Test("a parameter's ordinal is its place in allCases (the single-red alert messages are indexed by it)")
    func ordinals() {
        #expect(NEWS2Parameter.allCases.map(\.ordinal) == Array(NEWS2Parameter.allCases.indices))
    }
}
