import Foundation
import Kafka
import Logging
import Synchronization
import Testing

/// A private mock cluster per test, so tests never share topics or groups.
struct TestCluster {
    let cluster: KafkaMockCluster
    let logger: Logger = {
        var logger = Logger(label: "test.kafka")
        logger.logLevel = .error
        return logger
    }()

    init(brokers: Int = 3, topics: [String: Int]) throws {
        cluster = try KafkaMockCluster(brokers: brokers)
        for (topic, partitions) in topics {
            try cluster.createTopic(topic, partitions: partitions)
        }
    }

    var bootstrap: String { cluster.bootstrapServers }

    func producer(_ adjust: (inout KafkaProducerConfiguration) -> Void = { _ in }) throws -> KafkaProducer {
        var configuration = KafkaProducerConfiguration(bootstrapServers: bootstrap)
        configuration.linger = .milliseconds(2)
        adjust(&configuration)
        return try KafkaProducer(configuration: configuration, logger: logger)
    }

    func consumer(group: String = "g-\(UUID().uuidString)", topics: [String], _ adjust: (inout KafkaConsumerConfiguration) -> Void = { _ in }) throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(bootstrapServers: bootstrap, groupID: group, topics: topics)
        configuration.sessionTimeout = .seconds(6)
        configuration.maxBatchWait = .milliseconds(20)
        adjust(&configuration)
        return try KafkaConsumer(configuration: configuration, logger: logger)
    }
}

/// Reads events until `count` messages arrived, answering rebalances with
/// `startOffsets` (committed offsets when empty). Fails the test after `timeout`.
func collectMessages(
    from consumer: KafkaConsumer,
    count: Int,
    startOffsets: @escaping @Sendable (KafkaTopicPartition) -> Int64? = { _ in nil },
    timeout: Duration = .seconds(30)
) async throws -> [KafkaMessage] {
    try await withThrowingTaskGroup(of: [KafkaMessage]?.self) { group in
        group.addTask {
            var messages: [KafkaMessage] = []
            for await event in consumer.events {
                switch event {
                case .assigned(let assignment):
                    var offsets: [KafkaTopicPartition: Int64] = [:]
                    for partition in assignment.partitions {
                        offsets[partition] = startOffsets(partition)
                    }
                    assignment.start(at: offsets)
                case .revoked(let revocation):
                    revocation.acknowledge()
                case .messages(let batch):
                    messages.append(contentsOf: batch)
                }
                if messages.count >= count { break }
            }
            return messages
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        let first = try await group.next()!
        group.cancelAll()
        guard let messages = first else {
            throw TestFailure("timed out waiting for \(count) messages")
        }
        return messages
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command line tool and returns its standard output.
@discardableResult
func run(_ program: String, _ arguments: [String], input: Data? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [program] + arguments
    let output = Pipe()
    process.standardOutput = output
    let inputPipe = Pipe()
    if input != nil { process.standardInput = inputPipe }
    try process.run()
    if let input {
        inputPipe.fileHandleForWriting.write(input)
        try inputPipe.fileHandleForWriting.close()
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw TestFailure("\(program) exited with \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}

/// Key and sequence number encoded in test payloads as `key:sequence`.
func payload(key: String, sequence: Int) -> [UInt8] { Array("\(key):\(sequence)".utf8) }

func sequence(of message: KafkaMessage) -> Int {
    Int(String(decoding: message.value, as: UTF8.self).split(separator: ":").last!)!
}

/// Each key's sequence numbers, in the order the messages came.
func sequencesByKey(_ messages: [KafkaMessage]) -> [String: [Int]] {
    var byKey: [String: [Int]] = [:]
    for message in messages {
        byKey[String(decoding: message.key ?? [], as: UTF8.self), default: []].append(sequence(of: message))
    }
    return byKey
}

/// Asserts every key's messages are exactly 0..<perKey in order, once each.
func expectExactlyOnceInOrder(_ messages: [KafkaMessage], keys: Int, perKey: Int) {
    let byKey = sequencesByKey(messages)
    #expect(byKey.count == keys)
    for (key, sequences) in byKey {
        #expect(sequences == Array(0..<perKey), "key \(key) out of order or duplicated")
    }
}
