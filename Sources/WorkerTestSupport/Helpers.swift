import Foundation

/// Polls `body` every 200 ms until it returns a value (30 s at most).
public func eventually<T>(timeout: Duration = .seconds(30), _ body: () async throws -> T?) async throws -> T? {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if let value = try? await body() { return value }
        try await Task.sleep(for: .milliseconds(200))
    }
    return try await body()
}

/// Produces `key|value` lines with kcat and constant headers.
public func kcat(_ environment: WorkerEnvironment, topic: String, lines: [String], headers: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["kcat", "-P", "-b", environment.broker.bootstrapServers, "-t", topic, "-K", "|", "-q"] + headers.flatMap { ["-H", $0] }
    let input = Pipe()
    process.standardInput = input
    try process.run()
    input.fileHandleForWriting.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    try input.fileHandleForWriting.close()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw HarnessError("kcat exited with \(process.terminationStatus)") }
}
