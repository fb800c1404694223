import Clinical
import Events
import Foundation
import Simulator
import Testing

@Suite("Fleet simulator")
struct FleetSimulatorTests {
    static func configuration(seed: UInt64 = 42) -> FleetConfiguration {
        var configuration = FleetConfiguration()
        configuration.patients = 30
        configuration.seed = seed
        configuration.rate = 200
        configuration.episodeEvery = 5
        configuration.episodeRamp = 4
        configuration.episodeHold = 20
        configuration.meanStay = 120
        configuration.silentEvery = 20
        configuration.silentFor = 30
        return configuration
    }

    /// Runs `seconds` of ticks of 100 ms from a fixed start; returns every event.
    static func run(_ simulator: inout FleetSimulator, seconds: Int, each: (FleetSimulator) -> Void = { _ in }) -> [Event] {
        var events: [Event] = []
        let start = EventTime(microseconds: 1_800_000_000_000_000)
        for tick in 1...(seconds * 10) {
            events += simulator.tick(at: start.adding(.milliseconds(tick * 100)), elapsed: Double(tick) / 10)
            each(simulator)
        }
        return events
    }

    @Test("the same seed gives the same events; another seed does not")
    func deterministic() {
        var first = FleetSimulator(Self.configuration())
        var second = FleetSimulator(Self.configuration())
        var other = FleetSimulator(Self.configuration(seed: 43))
        let a = Self.run(&first, seconds: 20).map { [$0.time.rfc3339, $0.type.rawValue, String(decoding: EventRecord.value(for: $0), as: UTF8.self)] }
        let b = Self.run(&second, seconds: 20).map { [$0.time.rfc3339, $0.type.rawValue, String(decoding: EventRecord.value(for: $0), as: UTF8.self)] }
        let c = Self.run(&other, seconds: 20).map { [$0.time.rfc3339, $0.type.rawValue, String(decoding: EventRecord.value(for: $0), as: UTF8.self)] }
        let same = a == b, different = a != c
        #expect(same, "seed 42 twice: \(a.count) and \(b.count) events, first difference at \(String(describing: a.indices.first { $0 < b.count && a[$0] != b[$0] }))")
        #expect(different)
    }

    @Test("every event is valid under the contract, times strictly increase, ids are unique, and the rate holds")
    func valid() throws {
        var simulator = FleetSimulator(Self.configuration())
        let events = Self.run(&simulator, seconds: 60)
        var ids = Set<String>()
        var previous = EventTime(microseconds: 0)
        for event in events {
            var writer = JSONWriter()
            EventRecord.structured(event, into: &writer)
            let decoded = try JSONDocument().parse(writer.bytes) { try EventEnvelope.decode($0) }
            #expect(decoded == event)
            #expect(event.time > previous)
            previous = event.time
            #expect(ids.insert(event.source + "/" + event.id).inserted)
        }
        let setup = events.prefix { $0.type != .vitalsObserved }.count
        let rate = Double(events.count - setup) / 60
        #expect(abs(rate - 200) < 10, "\(rate) events/s")
        let types = Set(events.map(\.type))
        for type in EventType.allCases where type != .alertChanged && type != .alertAcknowledged && type != .patientTransferred {
            #expect(types.contains(type), "no \(type.rawValue)")
        }
    }

    @Test("a ward backlog: exactly the events asked for, setup first, one event per bed per second, deteriorations and alarms scaled to the beds")
    func wardBacklog() {
        let configuration = FleetConfiguration.ward(beds: 200, seed: 7)
        #expect(configuration.rate == 200)
        #expect(abs(configuration.episodeEvery - 60 * 48 / 200) < 1e-9)
        let start = EventTime(microseconds: 1_800_000_000_000_000)
        let (events, devices) = FleetSimulator.backlog(30_000, of: configuration, from: start)
        #expect(events.count == 30_000)
        #expect(devices.count == FleetSimulator(configuration).deviceIDs.count)
        #expect(events.first?.type == .deviceRegistered)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.time < $1.time })
        // 30,000 events at 200 a second, setup included, span about 150 s.
        let span = Double(events.last!.time.microseconds - start.microseconds) / 1_000_000
        #expect(span > 120 && span < 160, "\(span) s")
        let episodes = Set(events.compactMap { event -> String? in
            guard case .vitalsObserved(let vitals) = event.payload else { return nil }
            return vitals.observations.contains { $0.code == "9279-1" && $0.value >= 21 } ? vitals.patientId ?? vitals.deviceId : nil
        })
        #expect(episodes.count >= 2, "respiration rates of 21/min or more (NEWS2 2; patients at rest stay at 17 or less) from \(episodes.count) sources")
        #expect(events.contains { $0.type == .deviceAlarm })
        #expect(FleetSimulator.backlog(30_000, of: configuration, from: start).events.map(\.type) == events.map(\.type))
        #expect(FleetSimulator.backlog(0, of: configuration, from: start).events.isEmpty)
    }

    @Test("at rest nobody reaches NEWS2 medium; a deterioration reaches its band")
    func deterioration() throws {
        var simulator = FleetSimulator(Self.configuration())
        var reachedBands: [String: DeteriorationLevel] = [:]
        _ = Self.run(&simulator, seconds: 90) { simulator in
            let report = simulator.report
            let inEpisode = Set(report.episodes.filter { $0.endedAt == nil }.map(\.patientId))
            for patient in report.patients where patient.status == "admitted" {
                let score = patient.expectedNEWS2
                if !inEpisode.contains(patient.patientId), score.complete {
                    #expect(score.total < 5, "\(patient.patientId) at rest scores \(score.total)")
                }
                if let episode = report.episodes.last(where: { $0.patientId == patient.patientId && $0.endedAt == nil }),
                   let reached = episode.reachedAt, patient.latest["9279-1"]?.time == reached {
                    reachedBands[patient.patientId + reached] = episode.level
                    switch episode.level {
                    case .medium: #expect((5...6).contains(score.total) && !score.hasSingleRed, "medium episode scores \(score.total)")
                    case .high: #expect(score.total >= 7, "high episode scores \(score.total)")
                    }
                }
            }
        }
        #expect(reachedBands.values.contains(.medium))
        #expect(reachedBands.values.contains(.high))
    }
}
