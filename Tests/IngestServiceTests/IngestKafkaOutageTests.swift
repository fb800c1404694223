import Events
import Foundation
import Kafka
import Testing

@Suite("Ingest when Kafka cannot acknowledge", .serialized, .timeLimit(.minutes(2)))
struct IngestKafkaOutageTests {
    @Test("a broker down answers 503 with Retry-After, and every event called accepted is in the topic")
    func brokerDown() async throws {
        let cluster = try KafkaMockCluster(brokers: 3)
        for topic in EventTopic.allCases { try cluster.createTopic(topic.name, partitions: topic.defaultPartitions) }
        // The mock picks each partition's leader at random, so the devices' events
        // could all land on partitions broker 2 does not lead. Leaders in turn:
        // broker 2 leads partitions 1, 4, 7 and 10, where some of these devices' events go.
        let deviceEvents = EventTopic.deviceEvents
        for partition in 0..<deviceEvents.defaultPartitions {
            try cluster.setPartitionLeader(topic: deviceEvents.name, partition: Int32(partition), brokerID: Int32(partition % 3 + 1))
        }
        let devices = (0..<24).map { "dev-outage-\($0)" }
        let ids = devices.map { _ in Sample.id() }
        let accepted = try await withIngest(brokers: cluster.bootstrapServers, adjust: { $0.kafkaDeadline = .seconds(2) }) { client in
            // Warm up: metadata and the producer id are in place.
            let warmToken = try await client.tokens.create(deviceId: devices[0])
            #expect(try await client.post(Sample.batch([Sample.vitals(device: devices[0])]), token: warmToken).status == .accepted)

            try cluster.setBrokerDown(2)
            var acceptedIDs: [String] = []
            var sawOutage = false
            for (device, id) in zip(devices, ids) {
                let token = try await client.tokens.create(deviceId: device)
                let reply = try await client.post(Sample.batch([Sample.vitals(device: device, id: id)]), token: token)
                switch reply.status.code {
                case 202:
                    acceptedIDs.append(id)
                case 503:
                    sawOutage = true
                    #expect(reply.headers[.retryAfter] == "5")
                    #expect(reply.headers[.contentType] == "application/problem+json")
                    let results = try #require(reply.json["results"] as? [[String: Any]])
                    #expect(results.allSatisfy { $0["status"] as? String == "not-stored" })
                default:
                    Issue.record("unexpected \(reply.status): \(reply.text)")
                }
            }
            #expect(sawOutage, "events whose partition leader is down are not acknowledged")
            #expect(!acceptedIDs.isEmpty, "partitions led by the other brokers still accept")
            try cluster.setBrokerUp(2)
            return acceptedIDs
        }
        let records = try readWithConfluentKafka(brokers: cluster.bootstrapServers, topic: EventTopic.deviceEvents.name, ids: accepted, timeout: 20)
        #expect(Set(records.compactMap { ($0["headers"] as? [String: String])?["ce_id"] }) == Set(accepted))
        cluster.shutdown()
    }
}
