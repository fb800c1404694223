import Clinical
import Testing

@Suite("Rounding readings to chart precision")
struct ChartPrecisionTests {
    @Test(
        "whole-number readings round half away from zero",
        arguments: [
            (20.5, 21.0), (90.5, 91), (40.5, 41), (91.5, 92), (20.49, 20), (0.5, 1), (130.4, 130),
        ]
    )
    func wholeNumbers(reading: Double, charted: Double) {
        #expect(ChartPrecision.wholeNumber.rounded(reading) == charted)
    }

    @Test(
        "temperatures round to 0.1 °C as the decimal was written",
        arguments: [
            (35.05, 35.1), (36.05, 36.1), (38.05, 38.1), (39.05, 39.1), (35.04, 35.0), (37.25, 37.3),
            (36.0, 36.0),
        ]
    )
    func tenths(reading: Double, charted: Double) {
        #expect(ChartPrecision.tenth.rounded(reading) == charted)
    }

    @Test("a computed value a hair below a half rounds as the half it stands for")
    func representationError() {
        let celsius = (97.61 - 32) / 1.8  // 36.449999999999996 in binary floating point
        #expect(ChartPrecision.tenth.rounded(celsius) == 36.5)
    }

    @Test("non-finite values are returned unchanged", arguments: [Double.infinity, -Double.infinity])
    func nonFinite(value: Double) {
        #expect(ChartPrecision.wholeNumber.rounded(value) == value)
    }

    /// The precision of each parameter's chart row; `nil` for the categorical rows.
    static let chartRows: [(NEWS2Parameter, ChartPrecision?)] = [
        (.respirationRate, .wholeNumber),
        (.spo2, .wholeNumber),
        (.supplementalOxygen, nil),
        (.systolicBloodPressure, .wholeNumber),
        (.pulse, .wholeNumber),
        (.consciousness, nil),
        (.temperature, .tenth),
    ]

    @Test("each parameter is charted at the chart's precision", arguments: chartRows)
    func precisionOfParameter(parameter: NEWS2Parameter, precision: ChartPrecision?) {
        #expect(parameter.chartPrecision == precision)
    }
}
