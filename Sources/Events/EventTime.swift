/// A point in time with microsecond precision, as CloudEvents' `time` and the
/// projections' timestamps use it. Parsed from and formatted as RFC 3339.
public struct EventTime: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microseconds: Int64

    /// Creates a time from microseconds since the Unix epoch.
    public init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    /// Creates a time from seconds since the Unix epoch.
    public init(secondsSinceEpoch seconds: Double) {
        self.microseconds = Int64((seconds * 1_000_000).rounded())
    }

    /// Seconds since the Unix epoch.
    public var secondsSinceEpoch: Double { Double(microseconds) / 1_000_000 }

    /// Orders by time.
    public static func < (lhs: EventTime, rhs: EventTime) -> Bool { lhs.microseconds < rhs.microseconds }

    /// This time moved by `duration`.
    public func adding(_ duration: Duration) -> EventTime {
        let (seconds, attoseconds) = duration.components
        return EventTime(microseconds: microseconds + seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
    }

    /// The duration from `earlier` to this time.
    public func duration(since earlier: EventTime) -> Duration {
        .microseconds(microseconds - earlier.microseconds)
    }

    /// RFC 3339 in UTC, with microseconds when they are not zero:
    /// `2026-11-25T10:00:00.125Z`.
    public var description: String { rfc3339 }

    /// RFC 3339 in UTC, with a fraction only when needed.
    public var rfc3339: String { withRFC3339UTF8 { String(decoding: $0, as: UTF8.self) } }

    /// Calls `body` with ``rfc3339`` as UTF-8 bytes in a temporary buffer, written
    /// digit by digit: it is on the hot path of every record header and JSON
    /// document that carries a time.
    public func withRFC3339UTF8<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var days = microseconds / 86_400_000_000
        var rest = microseconds % 86_400_000_000
        if rest < 0 {
            rest += 86_400_000_000
            days -= 1
        }
        let (year, month, day) = Self.civil(fromDays: days)
        let seconds = rest / 1_000_000
        let fraction = rest % 1_000_000
        // Years outside 0…9999 need a sign or a fifth digit: the general path.
        guard (0...9999).contains(year) else {
            return try Array(Self.wideRFC3339(year, month, day, seconds, fraction).utf8).withUnsafeBytes(body)
        }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 27) { buffer in
            var count = 0
            func put(_ value: Int64, _ width: Int) {
                var value = value
                for offset in stride(from: width - 1, through: 0, by: -1) {
                    buffer[count + offset] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10)
                    value /= 10
                }
                count += width
            }
            func put(_ byte: Unicode.Scalar) {
                buffer[count] = UInt8(ascii: byte)
                count += 1
            }
            put(year, 4); put("-"); put(month, 2); put("-"); put(day, 2); put("T")
            put(seconds / 3600, 2); put(":"); put(seconds / 60 % 60, 2); put(":"); put(seconds % 60, 2)
            if fraction != 0 {
                var digits = 6
                var trimmed = fraction
                while trimmed % 10 == 0 {
                    trimmed /= 10
                    digits -= 1
                }
                put("."); put(trimmed, digits)
            }
            put("Z")
            return try body(UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[..<count]))
        }
    }

    private static func wideRFC3339(_ year: Int64, _ month: Int64, _ day: Int64, _ seconds: Int64, _ fraction: Int64) -> String {
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2))"
        if fraction != 0 {
            var digits = pad(fraction, 6)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + "Z"
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Parses RFC 3339 (`date-time`): a calendar date that exists, a time, an
    /// optional fraction (kept to the microsecond) and a required offset (`Z` or
    /// `±hh:mm`). Second 60 (a leap second) is accepted as the next second's start.
    public init?(rfc3339 text: String) {
        var text = text
        guard let time = text.withUTF8({ EventTime(rfc3339: UnsafeRawBufferPointer($0)) }) else { return nil }
        self = time
    }

    /// Parses RFC 3339 from UTF-8 bytes; see ``init(rfc3339:)-(String)``.
    public init?(rfc3339 bytes: UnsafeRawBufferPointer) {
        var index = 0
        func digits(_ count: Int) -> Int64? {
            guard index + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for _ in 0..<count {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                value = value * 10 + Int64(digit)
                index += 1
            }
            return value
        }
        func expect(_ options: UInt8...) -> Bool {
            guard index < bytes.count, options.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), expect(UInt8(ascii: "-")),
              let month = digits(2), expect(UInt8(ascii: "-")),
              let day = digits(2), expect(UInt8(ascii: "T"), UInt8(ascii: "t")),
              let hour = digits(2), expect(UInt8(ascii: ":")),
              let minute = digits(2), expect(UInt8(ascii: ":")),
              let second = digits(2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= Self.daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var micros: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100_000
            var count = 0
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 {
                micros += Int64(bytes[index] &- UInt8(ascii: "0")) * scale
                scale /= 10
                count += 1
                index += 1
            }
            guard count >= 1, count <= 9 else { return nil }
        }
        var offsetSeconds: Int64 = 0
        if expect(UInt8(ascii: "Z"), UInt8(ascii: "z")) {
            offsetSeconds = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHour = digits(2), expect(UInt8(ascii: ":")), let offsetMinute = digits(2),
                  offsetHour <= 23, offsetMinute <= 59
            else { return nil }
            offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        self.microseconds = seconds * 1_000_000 + micros
    }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
