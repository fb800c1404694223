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
    /// The next `count` events, in ticks of 100 ms of simulated time stamped
    /// from `start` (a new fleet begins with its registrations, assignments and
    /// admissions): a backlog to replay, produced as fast as it is built.
    public mutating func backlog(_ count: Int, from start: EventTime) -> [Event] {
        var events: [Event] = []
        events.reserveCapacity(count)
        var tick = 0
        while events.count < count {
            tick += 1
            let elapsed = Double(tick) / 10
            events += self.tick(at: start.adding(.milliseconds(tick * 100)), elapsed: elapsed)
        }
        return Array(events.prefix(count))
    }
}
