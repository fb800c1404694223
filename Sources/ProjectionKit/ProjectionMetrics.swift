import CoreMetrics
import Foundation
import Kafka
import ServiceSupport
import Synchronization

/// A worker's metrics (DESIGN §4): events applied, batch size and latency, lag
/// per partition, dead letters, newest applied event time.
final class ProjectionMetrics: Sendable {
    let metrics: ServiceMetrics
    let projection: String
    let applied: CoreMetrics.Counter
    let skipped: CoreMetrics.Counter
    let deadLetters: CoreMetrics.Counter
    let retries: CoreMetrics.Counter
    let fenced: CoreMetrics.Counter
    let batchSize: CoreMetrics.Recorder
    let batchLatency: CoreMetrics.Timer
    let newestEventTime: CoreMetrics.Gauge
    private let lagGauges = Mutex<[KafkaTopicPartition: CoreMetrics.Gauge]>([:])

    init(metrics: ServiceMetrics, projection: String) {
        self.metrics = metrics
        self.projection = projection
        let labels = [("projection", projection)]
        applied = metrics.counter("iomt_projection_events_applied_total", labels)
        skipped = metrics.counter("iomt_projection_events_skipped_total", labels)
        deadLetters = metrics.counter("iomt_projection_dead_letters_total", labels)
        retries = metrics.counter("iomt_projection_batch_retries_total", labels)
        fenced = metrics.counter("iomt_projection_fenced_partitions_total", labels)
        batchSize = metrics.recorder("iomt_projection_batch_events", labels)
        batchLatency = metrics.timer("iomt_projection_batch_duration_seconds", labels)
        newestEventTime = metrics.gauge("iomt_projection_newest_event_time_seconds", labels)
    }

    func lag(_ partition: KafkaTopicPartition, _ value: Int64) {
        let gauge = lagGauges.withLock { gauges in
            if let gauge = gauges[partition] { return gauge }
            let gauge = metrics.gauge("iomt_projection_lag_events", [("projection", projection), ("topic", partition.topic), ("partition", String(partition.partition))])
            gauges[partition] = gauge
            return gauge
        }
        gauge.record(value)
    }
}
