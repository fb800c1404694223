import ArgumentParser
import Foundation
import IngestService
import Logging
import PostgresNIO
import ServiceSupport

extension Duration {
    /// The duration in seconds as a floating-point number.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

func measure(_ body: () throws -> Void) throws -> Double {
    let start = ContinuousClock.now
    try body()
    return (ContinuousClock.now - start).seconds
}

func measureAsync(_ body: () async throws -> Void) async throws -> Double {
    let start = ContinuousClock.now
    try await body()
    return (ContinuousClock.now - start).seconds
}

/// Runs a program to completion; throws when it fails.
func runProcess(_ program: String, _ arguments: [String], discardOutput: Bool = false) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [program] + arguments
    if discardOutput { process.standardOutput = FileHandle.nullDevice }
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ValidationError("\(program) exited with status \(process.terminationStatus)")
    }
}

/// User plus system CPU time of this process so far, in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    let user = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
    let system = Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    return user + system
}

func format(_ rate: Double) -> String {
    String(format: "%.0f", rate)
}

func row(_ columns: String...) -> String {
    columns.enumerated().map { index, column in
        index == 0 ? column.padding(toLength: 10, withPad: " ", startingAt: 0) : String(repeating: " ", count: max(0, 14 - column.count)) + column
    }.joined()
}

/// Writes `count` lines made by `line` (without the newline) to a new file.
func writeLines(to url: URL, count: Int, _ line: (Int) -> String) throws {
    guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
        throw ValidationError("cannot create \(url.path)")
    }
    let handle = try FileHandle(forWritingTo: url)
    defer { try? handle.close() }
    var chunk: [UInt8] = []
    chunk.reserveCapacity(1 << 20)
    for index in 0..<count {
        chunk.append(contentsOf: line(index).utf8)
        chunk.append(UInt8(ascii: "\n"))
        if chunk.count >= 1 << 20 {
            handle.write(Data(chunk))
            chunk.removeAll(keepingCapacity: true)
        }
    }
    handle.write(Data(chunk))
}

/// Creates a bench token for each device (migrating the token store first) and
/// returns them by device id.
func deviceTokens(for devices: [String], settings: DatabaseSettings, logger: Logger) async throws -> [String: String] {
    try await PostgresClient.withClient(settings, logger: logger) { client in
        let store = DeviceTokenStore(client: client, cacheTTL: .zero, logger: logger)
        try await store.migrate()
        return try await store.create(deviceIds: devices, label: "bench")
    }
}
