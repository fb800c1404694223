import ArgumentParser
import AsyncHTTPClient
import Dispatch
import Foundation
import ServiceSupport
import Synchronization

/// A service executable of this package (`iomt-ingest`, a worker, …) run as a
/// child process next to this binary, stopped with SIGTERM.
final class ChildService: @unchecked Sendable {
    // @unchecked: `process` is only started in init and signalled afterwards;
    // Foundation's Process is safe for that.
    let process = Process()
    let name: String

    /// Starts `executable` (found next to this binary) with `environment` added
    /// to ours. Output goes to `logFile` when given.
    init(executable: String, environment: [String: String], arguments: [String] = [], logFile: URL? = nil) throws {
        name = executable
        let binary = Bundle.main.executableURL!.deletingLastPathComponent().appendingPathComponent(executable)
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw ValidationError("\(binary.path) is missing: build it first (swift build --product \(executable))")
        }
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        if let logFile {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            let handle = try FileHandle(forWritingTo: logFile)
            process.standardOutput = handle
            process.standardError = handle
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        ChildProcesses.register(process.processIdentifier)
    }

    /// Waits until `GET url` answers 200, failing after `timeout`.
    func waitUntilReady(_ url: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw ValidationError("\(name) exited with status \(process.terminationStatus)") }
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(2)), response.status == .ok {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ValidationError("\(name) did not become ready at \(url)")
    }

    /// Sends SIGTERM and waits for the process to exit.
    func stop() {
        ChildProcesses.unregister(process.processIdentifier)
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// Sends SIGKILL (crash tests).
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}


/// Child processes to stop if this process is interrupted (SIGINT, SIGTERM), so
/// a benchmark or dev stack stopped with Ctrl-C leaves nothing running. A
/// command that stops gracefully takes the first signal as a flag with
/// ``stopOnInterrupt()``; a second signal then still stops the children and exits.
enum ChildProcesses {
    private struct State {
        var pids: Set<Int32> = []
        var sources: [any DispatchSourceSignal] = []
        var interrupted: OnceFlag?
        var delivered = false
    }

    private static let registry = Mutex(State())

    static func register(_ pid: Int32) {
        registry.withLock { state in
            state.pids.insert(pid)
            installHandlers(&state)
        }
    }

    static func unregister(_ pid: Int32) {
        _ = registry.withLock { $0.pids.remove(pid) }
    }

    /// A flag the first SIGINT or SIGTERM sets, instead of stopping the children
    /// and exiting (a second signal stops everything at once).
    static func stopOnInterrupt() -> OnceFlag {
        let flag = OnceFlag()
        registry.withLock { state in
            state.interrupted = flag
            installHandlers(&state)
        }
        return flag
    }

    private static func installHandlers(_ state: inout State) {
        guard state.sources.isEmpty else { return }
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                let graceful = registry.withLock { state -> OnceFlag? in
                    guard let flag = state.interrupted, !state.delivered else { return nil }
                    state.delivered = true
                    return flag
                }
                if let graceful {
                    graceful.set()
                    return
                }
                for pid in registry.withLock({ $0.pids }) { Foundation.kill(pid, SIGTERM) }
                exit(128 + signalNumber)
            }
            source.resume()
            state.sources.append(source)
        }
    }
}
