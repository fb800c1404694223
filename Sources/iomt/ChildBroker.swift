import ArgumentParser
import Foundation

/// An `iomt broker` child process: the dev broker in its own process, as a real
/// broker would be, so benchmarks do not share an allocator or threads with it.
final class ChildBroker {
    let process = Process()
    /// The broker's bootstrap servers.
    let bootstrapServers: String

    /// Starts `iomt broker` with `brokers` brokers and the given `name:partitions`
    /// topics (the contract's topics are created too), and waits for its address.
    init(brokers: Int = 1, topics: [String]) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("iomt-broker-\(UUID().uuidString).env")
        process.executableURL = Bundle.main.executableURL
        process.arguments = ["broker", "--brokers", String(brokers), "--bootstrap-file", file.path, "--log-level", "error"]
            + topics.flatMap { ["--topic", $0] }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        ChildProcesses.register(process.processIdentifier)
        defer { try? FileManager.default.removeItem(at: file) }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOf: file, encoding: .utf8), let line = text.split(separator: "\n").first,
               line.hasPrefix("KAFKA_BROKERS=") {
                bootstrapServers = String(line.dropFirst("KAFKA_BROKERS=".count))
                return
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.terminate()
        throw ValidationError("the dev broker did not start")
    }

    /// Stops the broker and waits for it to exit.
    func stop() {
        ChildProcesses.unregister(process.processIdentifier)
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }
}
