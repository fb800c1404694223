import CoreMetrics
import Events
import ServiceSupport

/// The ingest service's metrics.
struct IngestMetrics: Sendable {
    let metrics: ServiceMetrics
    let requestDuration: CoreMetrics.Timer
    private let accepted: [EventTopic: CoreMetrics.Counter]
    private let rejected: [EventValidationError.Code: CoreMetrics.Counter]
    private let refusedRequests: [Int: CoreMetrics.Counter]
    let notStored: CoreMetrics.Counter

    init(metrics: ServiceMetrics) {
        self.metrics = metrics
        requestDuration = metrics.timer("iomt_ingest_request_duration_seconds")
        accepted = Dictionary(uniqueKeysWithValues: EventTopic.allCases.map {
            ($0, metrics.counter("iomt_ingest_events_accepted_total", [("topic", $0.name)]))
        })
        rejected = Dictionary(uniqueKeysWithValues: EventValidationError.Code.allCases.map {
            ($0, metrics.counter("iomt_ingest_events_rejected_total", [("reason", $0.rawValue)]))
        })
        refusedRequests = Dictionary(uniqueKeysWithValues: [400, 401, 403, 413, 415, 422, 503].map {
            ($0, metrics.counter("iomt_ingest_requests_refused_total", [("status", String($0))]))
        })
        notStored = metrics.counter("iomt_ingest_events_not_stored_total")
    }

    func accepted(_ topic: EventTopic, count: Int) {
        accepted[topic]?.increment(by: count)
    }

    func rejected(_ code: EventValidationError.Code) {
        rejected[code]?.increment()
    }

    func refused(status: Int) {
        refusedRequests[status]?.increment()
    }
}
