/// Conversion of JSON number literals (already syntax-checked) to `Double`.
enum JSONNumber {
    private static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    /// Parses a JSON number literal. Exact for every literal whose digits fit in
    /// 15 significant digits with a decimal exponent within ±22 (one correctly
    /// rounded multiply or divide); other literals go through the standard
    /// library's correctly rounded parser.
    static func parse(_ raw: UnsafeRawBufferPointer) -> Double? {
        var index = 0
        var negative = false
        if raw[0] == UInt8(ascii: "-") {
            negative = true
            index = 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        while index < raw.count, raw[index] &- UInt8(ascii: "0") < 10 {
            if digits < 19 { mantissa = mantissa * 10 + UInt64(raw[index] &- UInt8(ascii: "0")) } else { exponent += 1 }
            if mantissa != 0 { digits += 1 }
            index += 1
        }
        if index < raw.count, raw[index] == UInt8(ascii: ".") {
            index += 1
            while index < raw.count, raw[index] &- UInt8(ascii: "0") < 10 {
                if digits < 19 {
                    mantissa = mantissa * 10 + UInt64(raw[index] &- UInt8(ascii: "0"))
                    exponent -= 1
                    if mantissa != 0 { digits += 1 }
                }
                index += 1
            }
        }
        if index < raw.count, raw[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            var exponentNegative = false
            if raw[index] == UInt8(ascii: "+") || raw[index] == UInt8(ascii: "-") {
                exponentNegative = raw[index] == UInt8(ascii: "-")
                index += 1
            }
            var explicit = 0
            while index < raw.count, raw[index] &- UInt8(ascii: "0") < 10 {
                if explicit < 100_000 { explicit = explicit * 10 + Int(raw[index] &- UInt8(ascii: "0")) }
                index += 1
            }
            exponent += exponentNegative ? -explicit : explicit
        }
        if digits <= 15, abs(exponent) <= 22 {
            var value = Double(mantissa)
            value = exponent < 0 ? value / powersOfTen[-exponent] : value * powersOfTen[exponent]
            return negative ? -value : value
        }
        return Double(String(decoding: raw, as: UTF8.self))
    }
}
