import Alerts
import AssetInventory
import PatientState
import ProjectionKit
import ServiceSupport
import Testing

/// A projection's worker defaults, and the environment over them.
@Suite("Worker configuration defaults per projection")
struct WorkerDefaultsTests {
    let base = ["KAFKA_BROKERS": "127.0.0.1:9092", "DATABASE_URL": "postgres://iomt:iomt@127.0.0.1:5432/iomt"]

    func configuration(_ projection: some Projection, _ extra: [String: String] = [:]) throws -> WorkerConfiguration {
        try WorkerConfiguration(
            environment: ServiceEnvironment(variables: base.merging(extra) { _, new in new }),
            defaultPrefetchKilobytes: projection.defaultPrefetchKilobytes, defaultBatchMaxEvents: projection.defaultBatchMaxEvents
        )
    }

    @Test("the alerts worker gathers batches of 25,000 events, patient state and asset inventory 50,000; all prefetch 4,096 KiB; unless the environment says otherwise")
    func defaults() throws {
        #expect(try configuration(AlertsProjection()).prefetchKilobytes == 4096)
        #expect(try configuration(PatientStateProjection()).prefetchKilobytes == 4096)
        #expect(try configuration(AlertsProjection(), ["WORKER_PREFETCH_KB": "16384"]).prefetchKilobytes == 16384)
        #expect(try configuration(AlertsProjection()).batchMaxEvents == 25_000)
        #expect(try configuration(PatientStateProjection()).batchMaxEvents == 50_000)
        #expect(try configuration(AssetInventoryProjection()).batchMaxEvents == 50_000)
        #expect(try configuration(AlertsProjection(), ["WORKER_BATCH_MAX_EVENTS": "5000"]).batchMaxEvents == 5000)
        #expect {
            try configuration(AlertsProjection(), ["WORKER_PREFETCH_KB": "12"])
        } throws: { error in
            (error as? ConfigurationError)?.setting == "WORKER_PREFETCH_KB"
        }
    }
}
