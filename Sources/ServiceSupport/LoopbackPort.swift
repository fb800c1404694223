import Foundation

/// TCP ports on the loopback interface, for starting local processes on free
/// ports (dev stack, tests, benchmarks).
public enum LoopbackPort {
    /// A port that was free a moment ago (the kernel's pick for port 0).
    public static func free() throws -> Int {
        let port = try withSocket(port: 0) { socket, address, length -> Int? in
            guard getsockname(socket, address, &length) == 0 else { return nil }
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
        guard let port else { throw LoopbackPortError(description: "no free port on 127.0.0.1") }
        return port
    }

    /// Whether `port` on 127.0.0.1 can be bound now.
    public static func isFree(_ port: Int) -> Bool {
        (try? withSocket(port: port) { _, _, _ in true }) ?? false
    }

    /// Binds a socket to 127.0.0.1:`port` and hands it to `body`; nil when binding fails.
    private static func withSocket<T>(port: Int, _ body: (Int32, UnsafeMutablePointer<sockaddr>, inout socklen_t) -> T?) throws -> T? {
        guard (0...65535).contains(port) else { throw LoopbackPortError(description: "port \(port) is out of range") }
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw LoopbackPortError(description: "socket() failed") }
        defer { close(socket) }
        // As servers do: connections in TIME_WAIT on the port do not make it busy.
        var reuse: Int32 = 1
        _ = setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic -> T? in
                guard bind(socket, generic, length) == 0 else { return nil }
                return body(socket, generic, &length)
            }
        }
    }
}

/// Why a loopback port could not be had.
public struct LoopbackPortError: Error, CustomStringConvertible {
    /// What went wrong.
    public var description: String
}
