import Foundation
import Kafka
import Testing

@Suite("Prefetch refills", .serialized, .timeLimit(.minutes(2)))
struct PrefetchRefillTests {
    /// Produces 12,000 messages of 1 KiB (twelve times the smallest prefetch
    /// bound), lets a consumer fill its prefetch queue while it does not read,
    /// then reads everything as fast as it can. Returns the time between
    /// consecutive deliveries while it read.
    func gapsWhileDraining(wakingFetchers: Bool) async throws -> [Duration] {
        let cluster = try TestCluster(topics: ["t": 6])
        let producer = try cluster.producer()
        let value = [UInt8](repeating: 0x61, count: 1024)
        let records = (0..<12_000).map { KafkaProducerRecord(topic: "t", key: "k\($0 % 60)", value: value) }
        for result in await producer.send(records) { _ = try result.get() }
        await producer.shutdown()

        let consumer = try cluster.consumer(topics: ["t"]) { configuration in
            configuration.maxPrefetchKilobytes = 1024
            // As the workers against the dev broker: the mock holds a fetch that
            // finds no new data for the whole wait (`DevBroker.consumerEnvironment`).
            configuration.properties["fetch.wait.max.ms"] = "10"
            configuration.wakesStalledFetchers = wakingFetchers
        }
        var gaps: [Duration] = []
        var received = 0
        var last: ContinuousClock.Instant?
        for await event in consumer.events {
            switch event {
            case .assigned(let assignment):
                assignment.start(at: [:])
            case .revoked(let revocation):
                revocation.acknowledge()
            case .messages(let batch):
                if let last {
                    gaps.append(.now - last)
                } else {
                    // Not reading: the queue fills to its bound and librdkafka's
                    // broker threads stop fetching.
                    try await Task.sleep(for: .milliseconds(1500))
                }
                received += batch.count
                last = .now
            }
            if received >= records.count { break }
        }
        await consumer.close()
        #expect(received == records.count)
        return gaps
    }

    /// Without the waker, librdkafka 2.0.2 left each emptied queue empty until a
    /// broker thread's next wakeup, up to a second later: run with
    /// `wakingFetchers: false`, this test saw 4–6 waits over 400 ms and failed.
    @Test("a consumer that empties its full prefetch queue gets the next messages without waiting for idle broker threads")
    func fetchingResumesWhenTheQueueDrains() async throws {
        let gaps = try await gapsWhileDraining(wakingFetchers: true)
        let stalls = gaps.filter { $0 > .milliseconds(400) }
        #expect(stalls.count <= 1, "waits between deliveries: \(stalls)")
    }
}
