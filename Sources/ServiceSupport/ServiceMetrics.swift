import CoreMetrics
import Prometheus

/// A service's metrics registry, exported in the Prometheus text format at
/// `/metrics`.
///
/// Each service (and each instance in a test process) owns its registry, and
/// creates its swift-metrics instruments with ``factory``, so instances never
/// share counters. An executable may also install ``factory`` as the process-wide
/// swift-metrics backend so library metrics land in the same registry.
public struct ServiceMetrics: Sendable {
    /// The Prometheus registry.
    public let registry: PrometheusCollectorRegistry
    /// A swift-metrics factory writing into ``registry``.
    public let factory: PrometheusMetricsFactory

    /// Creates an empty registry.
    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Latency buckets from 0.5 ms to 10 s.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(10),
        ]
        self.factory = factory
    }

    /// A counter.
    public func counter(_ name: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: name, dimensions: dimensions, factory: factory)
    }

    /// A gauge.
    public func gauge(_ name: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: name, dimensions: dimensions, factory: factory)
    }

    /// A duration histogram (seconds).
    public func timer(_ name: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Timer {
        CoreMetrics.Timer(label: name, dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
    }

    /// A value histogram.
    public func recorder(_ name: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Recorder {
        CoreMetrics.Recorder(label: name, dimensions: dimensions, aggregate: true, factory: factory)
    }

    /// The registry in the Prometheus text exposition format.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
