import Events
import Kafka

/// What happened to one event of a request.
enum IngestResult {
    /// Stored by Kafka at this position.
    case accepted(KafkaDeliveryReport)
    /// Refused before Kafka: invalid.
    case rejected(EventValidationError)
    /// Valid, but Kafka did not acknowledge it in time: not reported stored.
    case notStored(KafkaError)

    /// The result of a decoded entry: refused by validation, or what Kafka's
    /// report (nil only when the entry was refused) says.
    init(_ outcome: Result<(event: Event, data: Range<Int>), EventValidationError>, report: Result<KafkaDeliveryReport, KafkaError>?) {
        switch (outcome, report) {
        case (.failure(let error), _): self = .rejected(error)
        case (.success, .success(let delivery)?): self = .accepted(delivery)
        case (.success, .failure(let error)?): self = .notStored(error)
        case (.success, nil): self = .notStored(KafkaError(kind: .closed, name: "NO_REPORT", detail: "the producer gave no delivery report"))
        }
    }

    /// One result object: `{index, id, status, …}`.
    static func encode(_ results: [(index: Int, id: String?, result: IngestResult)], into writer: inout JSONWriter) {
        writer.beginArray()
        for (index, id, result) in results {
            writer.beginObject()
            writer.member("index", index)
            writer.member("id", id)
            switch result {
            case .accepted(let report):
                writer.member("status", "accepted")
                writer.member("topic", report.topic)
                writer.member("partition", Int(report.partition))
                writer.member("offset", Int(report.offset))
            case .rejected(let error):
                writer.member("status", "rejected")
                writer.member("code", error.code.rawValue)
                writer.member("field", error.path)
                writer.member("reason", error.description)
            case .notStored(let error):
                writer.member("status", "not-stored")
                writer.member("reason", "Kafka did not acknowledge the event in time (\(error.name)); send it again")
            }
            writer.endObject()
        }
        writer.endArray()
    }
}
