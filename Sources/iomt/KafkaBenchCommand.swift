import ArgumentParser
import Foundation
import Kafka
import Logging
import ServiceSupport

/// `iomt bench kafka`: our producer and consumer against `kcat` on the same broker.
struct KafkaBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Produce then consume N messages through our Swift API and through kcat, on the same broker.",
        discussion: """
        Starts a private mock cluster in a child process (unless --brokers is given) with two topics of \
        --partitions partitions each (the mock keeps about 5 MiB per partition, so the \
        default spreads 1,000,000 messages wide enough to keep them all). Both clients \
        use the same librdkafka settings: idempotence on, acks=all, linger.ms=5, no \
        compression. Our consumer is a group member: its rate is measured from its first \
        message, after the group join; kcat consumes without a group.
        """
    )

    @Option(help: "Messages to produce and consume per client.")
    var messages: Int = 1_000_000

    @Option(name: .customLong("size"), help: "Value size in bytes.")
    var valueSize: Int = 200

    @Option(help: "Partitions per benchmark topic (only when the bench starts its own broker).")
    var partitions: Int = 128

    @Option(help: "Use this bootstrap list instead of a private mock cluster; its topics must exist with enough retention.")
    var brokers: String?

    @Option(help: "Path of the kcat binary.")
    var kcat: String = "kcat"

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try logging.bootstrap()
        let logger = Logger(label: "iomt.bench.kafka")
        let runID = UUID().uuidString.prefix(8).lowercased()
        let oursTopic = "iomt.bench.swift.\(runID)"
        let kcatTopic = "iomt.bench.kcat.\(runID)"
        var broker: ChildBroker?
        if brokers == nil {
            broker = try ChildBroker(topics: ["\(oursTopic):\(partitions)", "\(kcatTopic):\(partitions)"])
        }
        defer { broker?.stop() }
        let bootstrap = brokers ?? broker!.bootstrapServers
        let settings: [(String, String)] = [("enable.idempotence", "true"), ("acks", "all"), ("linger.ms", "5"), ("compression.codec", "none")]
        let workload = BenchWorkload(count: messages, valueSize: valueSize)
        print("iomt bench kafka: \(messages) messages of \(valueSize) bytes, \(partitions) partitions, broker \(bootstrap)")

        // Baseline first: kcat produce from a file of key<TAB>value lines.
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("iomt-bench-\(runID).txt")
        try workload.writeKcatInput(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let kcatProduce = try measure {
            try runProcess(kcat, ["-P", "-b", bootstrap, "-t", kcatTopic, "-K", "\t", "-l", input.path, "-q"] + settings.flatMap { ["-X", "\($0.0)=\($0.1)"] })
        }
        // Like kcat's input file, our records exist before the clock starts.
        let batchSize = 50_000
        let batches = stride(from: 0, to: messages, by: batchSize).map { start in
            KafkaRecordBatch((start..<min(start + batchSize, messages)).map { workload.record(topic: oursTopic, index: $0) })
        }
        let cpuBefore = processCPUSeconds()
        let oursProduce = try await measureAsync {
            try await produceOurs(bootstrap: bootstrap, batches: batches, logger: logger)
        }
        let oursProduceCPU = processCPUSeconds() - cpuBefore
        let kcatConsume = try measure {
            try runProcess(kcat, ["-C", "-b", bootstrap, "-t", kcatTopic, "-o", "beginning", "-e", "-q", "-f", "%o\n"], discardOutput: true)
        }
        let oursConsume = try await consumeOurs(bootstrap: bootstrap, topic: oursTopic, expected: messages, logger: logger)

        let rate = { (seconds: Double) in Double(messages) / seconds }
        print("")
        print(row("phase", "kcat msg/s", "ours msg/s", "ours/kcat"))
        print(row("produce", format(rate(kcatProduce)), format(rate(oursProduce)), String(format: "%.2f", kcatProduce / oursProduce)))
        print(row("consume", format(rate(kcatConsume)), format(rate(oursConsume.seconds)), String(format: "%.2f", kcatConsume / oursConsume.seconds)))
        print("")
        print("our process (producer and delivery reports) used \(String(format: "%.2f", oursProduceCPU)) CPU-seconds producing in \(String(format: "%.2f", oursProduce)) s.")
        print("our consumer's group join took \(String(format: "%.2f", oursConsume.joinSeconds)) s before its first message (not counted).")
        print("goal: ours >= 0.80 x kcat for produce and consume.")
    }

    private func produceOurs(bootstrap: String, batches: [KafkaRecordBatch], logger: Logger) async throws {
        var configuration = KafkaProducerConfiguration(bootstrapServers: bootstrap)
        configuration.compression = .none
        configuration.linger = .milliseconds(5)
        let producer = try KafkaProducer(configuration: configuration, logger: logger)
        let inFlight = 4
        var failures = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            func addBatch() {
                let batch = batches[next]
                next += 1
                group.addTask {
                    let results = await producer.send(batch)
                    return results.reduce(0) { failed, result in
                        if case .failure = result { failed + 1 } else { failed }
                    }
                }
            }
            while next < batches.count, next < inFlight { addBatch() }
            while let failed = try await group.next() {
                failures += failed
                if next < batches.count { addBatch() }
            }
        }
        await producer.shutdown()
        if failures > 0 { throw ValidationError("\(failures) of our produced messages failed") }
    }

    private func consumeOurs(bootstrap: String, topic: String, expected: Int, logger: Logger) async throws -> (seconds: Double, joinSeconds: Double) {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: "iomt-bench-\(UUID().uuidString)", topics: [topic])
        configuration.maxBatchSize = 5000
        // kcat runs with librdkafka's default prefetch bound; give ours the same.
        configuration.maxPrefetchKilobytes = 65_536
        configuration.offsetReset = .earliest
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        let started = ContinuousClock.now
        var first: ContinuousClock.Instant?
        var received = 0
        var bytes = 0
        for await event in consumer.events {
            switch event {
            case .assigned(let assignment):
                // The topics are new: offset 0 is their start, and a concrete offset spares
                // one ListOffsets round trip per partition (as stored checkpoints do).
                assignment.start(at: Dictionary(uniqueKeysWithValues: assignment.partitions.map { ($0, 0) }))
            case .revoked(let revocation):
                revocation.acknowledge()
            case .messages(let batch):
                if first == nil { first = .now }
                received += batch.count
                for message in batch { bytes &+= message.value.count }
            }
            if received >= expected { break }
        }
        let finished = ContinuousClock.now
        await consumer.close()
        guard received >= expected, let first else { throw ValidationError("consumed \(received) of \(expected) messages") }
        _ = bytes
        return ((finished - first).seconds, (first - started).seconds)
    }
}

/// The benchmark's messages: keys `device-NNNNN`, values of fixed size.
struct BenchWorkload: Sendable {
    let count: Int
    let valueSize: Int

    func key(_ index: Int) -> String {
        let number = String(index % 5000)
        return "device-" + String(repeating: "0", count: 5 - number.count) + number
    }

    func value(_ index: Int) -> [UInt8] {
        var value = [UInt8](repeating: UInt8(ascii: "x"), count: valueSize)
        let stamp = Array(String(index).utf8)
        for (offset, byte) in stamp.enumerated() where offset < valueSize { value[offset] = byte }
        return value
    }

    func record(topic: String, index: Int) -> KafkaProducerRecord {
        KafkaProducerRecord(topic: topic, key: key(index), value: value(index))
    }

    func writeKcatInput(to url: URL) throws {
        try writeLines(to: url, count: count) { index in key(index) + "\t" + String(decoding: value(index), as: UTF8.self) }
    }
}

