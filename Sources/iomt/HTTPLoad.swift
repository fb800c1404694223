import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix

/// A lean HTTP/1.1 load generator for `GET` benchmarks: keep-alive connections on
/// one event loop, pre-encoded requests, and the whole loop (send, parse, record)
/// run on that loop's thread.
///
/// A bench runs on the same two shared cores as the service it measures, so its
/// client must cost little. A general-purpose client pays for connection pooling,
/// redirects and a task per request: AsyncHTTPClient used about 275 µs of CPU per
/// lookup here, as much as the query service itself, and that CPU was taken from
/// the service under test. This one sends bytes and reads the status line, the
/// headers and the body, which is all a benchmark needs.
struct HTTPLoad {
    /// The server.
    let host: String
    let port: Int
    /// Headers sent with every request.
    let headers: HTTPHeaders
    /// The path of request number `index`.
    let path: @Sendable (Int) -> String

    /// `connections` connections each sending back to back for `duration`.
    func closedLoop(connections: Int, duration: Duration) async throws -> LoadGenerator.Outcome {
        try await run(connections: connections) { driver in driver.closedLoop(duration: duration) }
    }

    /// Requests started on a fixed schedule over `connections` connections;
    /// latency counts from the scheduled start, so a request that waits for a free
    /// connection is charged for the wait.
    func openLoop(requestsPerSecond: Double, duration: Duration, connections: Int) async throws -> LoadGenerator.Outcome {
        try await run(connections: connections) { driver in driver.openLoop(rate: requestsPerSecond, duration: duration) }
    }

    private func run(connections: Int, _ start: @escaping @Sendable (LoadDriver) -> EventLoopFuture<LoadGenerator.Outcome>) async throws -> LoadGenerator.Outcome {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let driver = LoadDriver(loop: loop, headers: headers, path: path)
        var channels: [any Channel] = []
        for _ in 0..<connections {
            let channel = try await ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(LoadConnection(driver: driver))
                    }
                }
                .connect(host: host, port: port).get()
            channels.append(channel)
        }
        defer { for channel in channels { channel.close(promise: nil) } }
        return try await loop.flatSubmit { start(driver) }.get()
    }
}

/// The state of one load phase; touched only on its event loop.
private final class LoadDriver: @unchecked Sendable {
    let loop: any EventLoop
    let headers: HTTPHeaders
    let path: @Sendable (Int) -> String
    private var idle: [LoadConnection] = []
    private var connectionCount = 0
    private var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000)
    private var succeeded = 0
    private var failed = 0
    private var next = 0
    /// Open loop: scheduled starts waiting for a free connection.
    private var waiting: [NIODeadline] = []
    private var accepting = true
    /// Open loop: requests released so far.
    private var issued = 0
    private var outstanding = 0
    private var started = NIODeadline.now()
    private var done: EventLoopPromise<LoadGenerator.Outcome>?
    /// Closed loop: a connection sends again as soon as a response ends.
    private var isClosedLoop = true

    init(loop: any EventLoop, headers: HTTPHeaders, path: @escaping @Sendable (Int) -> String) {
        self.loop = loop
        self.headers = headers
        self.path = path
    }

    func register(_ connection: LoadConnection) {
        connectionCount += 1
        idle.append(connection)
    }

    func closedLoop(duration: Duration) -> EventLoopFuture<LoadGenerator.Outcome> {
        let promise = begin(closedLoop: true)
        let connections = idle
        idle.removeAll()
        loop.scheduleTask(in: .nanoseconds(Int64(duration.seconds * 1e9))) { self.stopAccepting() }
        for connection in connections { send(on: connection, scheduled: .now()) }
        return promise.futureResult
    }

    func openLoop(rate: Double, duration: Duration) -> EventLoopFuture<LoadGenerator.Outcome> {
        let promise = begin(closedLoop: false)
        let total = Int(rate * duration.seconds)
        let interval = 1e9 / rate
        issued = 0
        release(total: total, interval: interval)
        return promise.futureResult
    }

    /// Starts every request whose time has come, then sleeps until the next one's
    /// time (a timer per request keeps starts on schedule, not on a coarse tick).
    private func release(total: Int, interval: Double) {
        let now = NIODeadline.now()
        while issued < total {
            let scheduled = started + .nanoseconds(Int64(Double(issued) * interval))
            guard scheduled <= now else {
                loop.scheduleTask(deadline: scheduled) { self.release(total: total, interval: interval) }
                return
            }
            issued += 1
            if let connection = idle.popLast() { send(on: connection, scheduled: scheduled) } else { waiting.append(scheduled) }
        }
        stopAccepting()
    }

    private func begin(closedLoop: Bool) -> EventLoopPromise<LoadGenerator.Outcome> {
        let promise = loop.makePromise(of: LoadGenerator.Outcome.self)
        isClosedLoop = closedLoop
        done = promise
        started = .now()
        accepting = true
        return promise
    }

    private func send(on connection: LoadConnection, scheduled: NIODeadline) {
        outstanding += 1
        connection.send(HTTPRequestHead(version: .http1_1, method: .GET, uri: path(next), headers: headers), scheduled: scheduled)
        next += 1
    }

    /// A connection finished a request (or failed: `ok` false, connection lost).
    func finished(_ connection: LoadConnection, scheduled: NIODeadline, ok: Bool, usable: Bool) {
        outstanding -= 1
        _ = histogram.record(UInt64(max(0, (NIODeadline.now() - scheduled).nanoseconds)))
        if ok { succeeded += 1 } else { failed += 1 }
        if usable {
            if !waiting.isEmpty {
                send(on: connection, scheduled: waiting.removeFirst())
            } else if accepting && isClosedLoop {
                send(on: connection, scheduled: .now())
            } else {
                idle.append(connection)
            }
        } else {
            connectionCount -= 1
        }
        complete()
    }

    func stopAccepting() {
        accepting = false
        complete()
    }

    private func complete() {
        guard !accepting, outstanding == 0, let promise = done else { return }
        if connectionCount == 0 { failed += waiting.count; waiting.removeAll() }
        guard waiting.isEmpty else { return }
        done = nil
        let elapsed = Double((NIODeadline.now() - started).nanoseconds) / 1e9
        promise.succeed(LoadGenerator.Outcome(
            eventsPerSecond: Double(succeeded) / elapsed, p50: histogram.valueAtPercentile(50), p99: histogram.valueAtPercentile(99),
            max: histogram.max, failures: failed
        ))
    }
}

/// One keep-alive connection: sends a request, reads its response, reports it.
private final class LoadConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let driver: LoadDriver
    private var context: ChannelHandlerContext?
    private var scheduled: NIODeadline?
    private var status = 0
    private var bodyBytes = 0

    init(driver: LoadDriver) {
        self.driver = driver
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        driver.register(self)
    }

    func send(_ head: HTTPRequestHead, scheduled: NIODeadline) {
        guard let context else {
            driver.finished(self, scheduled: scheduled, ok: false, usable: false)
            return
        }
        self.scheduled = scheduled
        status = 0
        bodyBytes = 0
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body(let body): bodyBytes += body.readableBytes
        case .end:
            guard let scheduled else { return }
            self.scheduled = nil
            driver.finished(self, scheduled: scheduled, ok: status == 200 && bodyBytes > 0, usable: true)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        let pending = scheduled
        scheduled = nil
        if let pending { driver.finished(self, scheduled: pending, ok: false, usable: false) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
