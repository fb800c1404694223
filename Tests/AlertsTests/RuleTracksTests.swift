@testable import Alerts
import Testing

@Suite("Rule tracks")
struct RuleTracksTests {
    @Test("a rule's slot among a subject's tracks is its place in allCases, and tracks list in that order")
    func slots() {
        for (position, rule) in AlertRule.allCases.enumerated() { #expect(rule.ordinal == position) }
        var tracks = RuleTracks()
        #expect(tracks.isEmpty)
        tracks[.batteryLow] = RuleTrack(opened: 2)
        tracks[.news2High] = RuleTrack(opened: 1)
        #expect(tracks.map(\.key) == [.news2High, .batteryLow])
        #expect(tracks[.batteryLow]?.opened == 2)
        #expect(tracks[.deviceAlarm] == nil)
        tracks[.batteryLow] = nil
        tracks[.news2High] = nil
        #expect(tracks.isEmpty)
    }
}
