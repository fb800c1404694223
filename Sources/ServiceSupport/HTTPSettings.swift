/// Where a service listens (`HTTP_HOST`, `HTTP_PORT`).
public struct HTTPSettings: Sendable {
    /// Interface to bind. Default `0.0.0.0` (containers); use `127.0.0.1` to keep
    /// a service local.
    public var host: String
    /// Port. Each service documents its default; 0 picks a free port.
    public var port: Int

    /// Creates settings.
    public init(host: String = "0.0.0.0", port: Int) {
        self.host = host
        self.port = port
    }

    /// Reads `HTTP_HOST` and `HTTP_PORT`, with `defaultPort` when unset.
    public init(environment: ServiceEnvironment, defaultPort: Int) throws(ConfigurationError) {
        host = environment["HTTP_HOST"] ?? "0.0.0.0"
        port = try environment.integer("HTTP_PORT", default: defaultPort, in: 0...65535)
    }
}
