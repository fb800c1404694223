/// The precision a NEWS2 chart records a numeric observation at. Readings are rounded
/// to it before they are scored.
public enum ChartPrecision: Sendable, CaseIterable {
    /// Whole numbers: respiration rate, SpO2, systolic pressure and pulse.
    case wholeNumber
    /// Tenths: temperature in °C.
    case tenth

    /// `value` rounded to this precision, half away from zero, as if `value` were the
    /// decimal number it was written as: 35.05 °C rounds to 35.1 even though the
    /// nearest `Double` to 35.05 lies just below it. Differences smaller than a
    /// billionth of the chart's unit count as representation error, so 20.4999999999
    /// rounds as 20.5 does. Non-finite values are returned unchanged.
    public func rounded(_ value: Double) -> Double {
        guard value.isFinite else { return value }
        let scaled = value * scale
        // Undo the representation error of `value` and of the multiplication by
        // snapping to 9 decimal places, so an exact half stays exactly a half. Beyond
        // 1e6 a Double has no room for nine decimals and the snap would add error.
        let snapped = abs(scaled) < 1e6 ? (scaled * 1e9).rounded() / 1e9 : scaled
        return snapped.rounded(.toNearestOrAwayFromZero) / scale
    }

    /// The power of ten that turns a value at this precision into a whole number.
    private var scale: Double {
        switch self {
        case .wholeNumber: 1
        case .tenth: 10
        }
    }
}
