import Events
import Simulator
import Foundation
import Kafka
import Testing
import WorkerTestSupport

/// A PostgreSQL cluster of its own (ops/dev-postgres.sh on another port), so
/// stopping it disturbs no other test.
struct PrivatePostgres {
    let port = 55441
    var folder: String { ".data/postgres-outage" }

    func run(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = repositoryRoot.appendingPathComponent("ops/dev-postgres.sh")
        process.arguments = [command, "--port", String(port), "--dir", folder]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "dev-postgres.sh \(command)")
        return String(decoding: data, as: UTF8.self)
    }

    func start() throws -> String {
        let output = try run("start")
        return String(output.split(separator: "\n").last { $0.hasPrefix("DATABASE_URL=") }!.dropFirst("DATABASE_URL=".count))
    }
}

@Suite("Patient-state worker when PostgreSQL goes away", .serialized, .timeLimit(.minutes(5)))
struct PostgresOutageTests {
    @Test("PostgreSQL stopped and restarted mid-stream: the worker recovers with nothing lost")
    func restart() async throws {
        let postgres = PrivatePostgres()
        let url = try postgres.start()
        let environment = try await WorkerEnvironment.make(postgres: url)
        var workload = PatientWorkload(patients: 150, devices: 300, seed: 5)
        var events = workload.setup()
        events += workload.stream(30_000)
        let producer = try environment.producer()
        let worker = try environment.worker()
        var ends: [KafkaTopicPartition: Int64] = [:]
        for (index, chunk) in stride(from: 0, to: events.count, by: 1500).enumerated() {
            ends.merge(try await environment.produce(Array(events[chunk..<min(chunk + 1500, events.count)]), with: producer)) { max($0, $1) }
            try await Task.sleep(for: .milliseconds(200))
            if index == 6 {
                _ = try postgres.run("stop")
            }
            if index == 12 {
                _ = try postgres.start()
            }
        }
        await producer.shutdown()
        try await environment.waitForCheckpoints(ends)
        expectMatchesReference(try await storedPatients(environment.database), expectedPatients(events))
        worker.stop()
        await environment.tearDown()
        _ = try postgres.run("stop")
    }
}
