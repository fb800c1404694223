import Events
import Testing

@Suite("RFC 3339 times")
struct EventTimeTests {
    @Test("offsets are applied and fractions kept to the microsecond")
    func parsing() throws {
        let time = try #require(EventTime(rfc3339: "2026-11-25T11:00:05.250123999+01:00"))
        #expect(time.rfc3339 == "2026-11-25T10:00:05.250123Z")
        #expect(EventTime(rfc3339: "1970-01-01T00:00:00Z")?.microseconds == 0)
        #expect(EventTime(rfc3339: "2024-02-29T00:00:00z") != nil, "leap day, lower-case z")
    }

    @Test("impossible or offset-less times are refused", arguments: [
        "2026-11-25T10:00:00", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-25 10:00:00Z", "2026-11-25T24:00:00Z",
        "2026-11-25T10:00:00.Z", "2026-11-25T10:00:00+1:00", "2026-11-25T10:00:00Zjunk",
    ])
    func refused(text: String) {
        #expect(EventTime(rfc3339: text) == nil)
    }

    @Test("formatting: fixed-width fields, fraction trimmed of trailing zeros, years beyond four digits")
    func formatting() {
        #expect(EventTime(microseconds: 0).rfc3339 == "1970-01-01T00:00:00Z")
        #expect(EventTime(microseconds: 1_764_064_805_250_000).rfc3339 == "2025-11-25T10:00:05.25Z")
        #expect(EventTime(microseconds: 1_764_064_805_000_001).rfc3339 == "2025-11-25T10:00:05.000001Z")
        #expect(EventTime(microseconds: -1).rfc3339 == "1969-12-31T23:59:59.999999Z")
        #expect(EventTime(microseconds: 253_402_300_800_000_000).rfc3339 == "10000-01-01T00:00:00Z")
        #expect(EventTime(microseconds: 1_764_064_805_250_000).withRFC3339UTF8 { Array($0) } == Array("2025-11-25T10:00:05.25Z".utf8))
    }

    @Test("formatting and parsing round-trip", arguments: [0, 1, 1_764_064_800_123_456, -86_400_000_001])
    func roundTrip(microseconds: Int64) {
        let time = EventTime(microseconds: microseconds)
        #expect(EventTime(rfc3339: time.rfc3339) == time)
    }
}
