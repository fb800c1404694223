import Events

extension FleetConfiguration {
    /// A fleet of `beds` beds sending one event per bed per second, with as many
    /// deteriorations, alarms and silent devices per bed as the defaults give 48
    /// beds: the events of `iomt bench projection --workload ward`.
    public static func ward(beds: Int, seed: UInt64) -> FleetConfiguration {
        var configuration = FleetConfiguration()
        let beds = max(1, beds)
        configuration.patients = beds
        configuration.seed = seed
        configuration.rate = Double(beds)
        let scale = 48 / Double(beds)
        configuration.episodeEvery *= scale
        configuration.alarmEvery *= scale
        configuration.silentEvery *= scale
        return configuration
    }
}

extension FleetSimulator {
    /// The first `count` events of a new fleet of `configuration` (its
    /// registrations, assignments and admissions first), in ticks of 100 ms of
    /// simulated time stamped from `start`, and the fleet's device ids: a
    /// backlog to replay, built as fast as it can be.
    public static func backlog(_ count: Int, of configuration: FleetConfiguration, from start: EventTime) -> (events: [Event], deviceIDs: [String]) {
        var simulator = FleetSimulator(configuration)
        var events: [Event] = []
        events.reserveCapacity(max(0, count))
        var tick = 0
        while events.count < count {
            tick += 1
            events += simulator.tick(at: start.adding(.milliseconds(tick * 100)), elapsed: Double(tick) / 10)
        }
        // The last tick's surplus is dropped with the simulator.
        return (Array(events.prefix(max(0, count))), simulator.deviceIDs)
    }
}
