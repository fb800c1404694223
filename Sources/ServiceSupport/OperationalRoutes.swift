import Hummingbird
import NIOCore

/// A named readiness check: returns nil when ready, or a short reason.
public struct ReadinessCheck: Sendable {
    /// What is checked, e.g. `kafka` or `postgres`.
    public var name: String
    /// Runs the check.
    public var check: @Sendable () async -> String?

    /// Creates a check.
    public init(name: String, check: @escaping @Sendable () async -> String?) {
        self.name = name
        self.check = check
    }
}

extension Router {
    /// Adds `GET /health` (the process is up), `GET /ready` (every check passes;
    /// 503 with the failing checks otherwise) and `GET /metrics` (Prometheus text).
    public func addOperationalRoutes(metrics: ServiceMetrics, readiness: [ReadinessCheck]) {
        get("/health") { _, _ in
            Response.json(Array(#"{"status":"ok"}"#.utf8))
        }
        get("/ready") { _, _ in
            let results = await withTaskGroup(of: (String, String?).self) { group in
                for check in readiness {
                    group.addTask { (check.name, await check.check()) }
                }
                var results: [(String, String?)] = []
                for await result in group { results.append(result) }
                return results.sorted { $0.0 < $1.0 }
            }
            var body = "{\"ready\":\(results.allSatisfy { $0.1 == nil }),\"checks\":{"
            body += results.map { name, failure in "\"\(name)\":\"\(failure ?? "ok")\"" }.joined(separator: ",")
            body += "}}"
            return Response.json(Array(body.utf8), status: results.allSatisfy { $0.1 == nil } ? .ok : .serviceUnavailable)
        }
        get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition()))
            )
        }
    }
}
