import Events
import HTTPTypes
import Hummingbird
import Kafka
import Logging
import NIOCore
import ServiceSupport

/// `POST /v1/events`: authenticate, decode and validate, authorize, write the
/// valid events to Kafka with the idempotent producer, and answer only after
/// every delivery report (or the deadline).
///
/// Status codes: 202 all accepted; 207 some refused (per-event results); 422
/// none valid; 400 malformed body; 401 no or bad credentials; 403 an event the
/// publisher may not publish; 413 body or batch too large; 415 wrong content type;
/// 503 with `Retry-After` when Kafka did not acknowledge every valid event in
/// time — the body then lists which events are stored, and no event is reported
/// accepted unless Kafka acknowledged it.
struct EventIngestor: Sendable {
    let configuration: IngestConfiguration
    let authenticator: IngestAuthenticator
    let producer: KafkaProducer
    let metrics: IngestMetrics
    let logger: Logger

    func handle(_ request: Request) async throws -> Response {
        let started = ContinuousClock.now
        defer { metrics.requestDuration.record(duration: ContinuousClock.now - started) }
        do {
            return try await ingest(request)
        } catch let problem as ProblemDetails {
            metrics.refused(status: problem.status.code)
            return problem.response()
        }
    }

    private func ingest(_ request: Request) async throws -> Response {
        let publisher = try await authenticator.authenticate(request.headers[.authorization])
        guard let format = EventBatch.Format(contentType: request.headers[.contentType]) else {
            throw ProblemDetails.unsupportedMediaType(
                "Content-Type must be application/cloudevents-batch+json, application/cloudevents+json or application/x-ndjson"
            )
        }
        let body = try await collectBody(request)
        let batch = try decode(body, format: format)
        if batch.entries.isEmpty { throw ProblemDetails.badRequest("the request holds no event") }

        // Authorize every valid event before writing any.
        var refusals: [String] = []
        for entry in batch.entries {
            if case .success(let decoded) = entry.outcome, let refusal = publisher.refusal(for: decoded.event) {
                refusals.append("events[\(entry.index)]: \(refusal)")
            }
        }
        if !refusals.isEmpty {
            throw ProblemDetails.forbidden(refusals.prefix(10).joined(separator: "; "))
        }

        // Binary content mode, every record's bytes in one buffer (see KafkaRecordBatch).
        var records = KafkaRecordBatch(records: batch.entries.count, bytesPerRecord: body.readableBytes / max(1, batch.entries.count) + 128)
        body.withUnsafeReadableBytes { bytes in
            for entry in batch.entries {
                switch entry.outcome {
                case .success(let decoded):
                    records.append(topic: decoded.event.type.topic.name, key: decoded.event.partitionKey.utf8, value: UnsafeRawBufferPointer(rebasing: bytes[decoded.data]))
                    EventRecord.forEachHeader(of: decoded.event) { name, value in records.appendHeader(name: name, value: value) }
                case .failure(let error):
                    metrics.rejected(error.code)
                }
            }
        }
        if records.count == 0 {
            let results = batch.entries.map { entry in (index: entry.index, id: entry.id, result: IngestResult(entry.outcome, report: nil)) }
            throw ProblemDetails(
                status: .unprocessableContent, detail: "no event in the request is valid",
                extensions: [("results", Self.resultsJSON(results))]
            )
        }

        // Each valid entry takes the next delivery report, in order.
        var reports = await producer.send(records, timeout: configuration.kafkaDeadline).makeIterator()
        var stored = 0
        var unstored = 0
        var acceptedPerTopic: [EventTopic: Int] = [:]
        let results = batch.entries.map { entry in
            var report: Result<KafkaDeliveryReport, KafkaError>?
            if case .success(let decoded) = entry.outcome {
                report = reports.next()
                if case .success = report {
                    stored += 1
                    acceptedPerTopic[decoded.event.type.topic, default: 0] += 1
                } else {
                    unstored += 1
                }
            }
            return (index: entry.index, id: entry.id, result: IngestResult(entry.outcome, report: report))
        }
        // One counter update per topic, not per event.
        for (topic, count) in acceptedPerTopic { metrics.accepted(topic, count: count) }
        if unstored > 0 {
            metrics.notStored.increment(by: unstored)
            logger.warning("Kafka did not acknowledge events in time", metadata: ["events.stored": "\(stored)", "events.not_stored": "\(unstored)"])
            var problem = ProblemDetails.unavailable(
                "Kafka did not acknowledge \(unstored) of \(records.count) valid events in time; events marked not-stored must be sent again",
                retryAfterSeconds: configuration.retryAfterSeconds
            )
            problem.extensions = [("results", Self.resultsJSON(results))]
            throw problem
        }
        let rejected = results.count - stored
        var writer = JSONWriter(capacity: rejected == 0 ? 64 : 128 * results.count)
        writer.beginObject()
        writer.member("accepted", stored)
        writer.member("rejected", rejected)
        if rejected > 0 {
            writer.key("results")
            writer.raw(Self.resultsJSON(results))
        }
        writer.endObject()
        return Response.json(writer.bytes, status: rejected == 0 ? .accepted : HTTPResponse.Status(code: 207, reasonPhrase: "Multi-Status"))
    }

    /// The whole body, refused past `maxBodyBytes`. With a `Content-Length`, an
    /// oversized body is refused before it is read and the buffer is allocated once
    /// at its final size instead of growing with each fragment.
    private func collectBody(_ request: Request) async throws -> ByteBuffer {
        let limit = configuration.maxBodyBytes
        let tooLarge = ProblemDetails.tooLarge("the request body is larger than \(limit) bytes")
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit { throw tooLarge }
        var body = ByteBufferAllocator().buffer(capacity: declared ?? 0)
        for try await fragment in request.body {
            guard fragment.readableBytes <= limit - body.readableBytes else { throw tooLarge }
            body.writeImmutableBuffer(fragment)
        }
        return body
    }

    private func decode(_ body: ByteBuffer, format: EventBatch.Format) throws -> EventBatch {
        let document = JSONDocument(expectedBytes: body.readableBytes)
        do {
            return try body.withUnsafeReadableBytes { bytes in
                try EventBatch.decode(bytes, format: format, maxEvents: configuration.maxEvents, maxEventBytes: configuration.maxEventBytes, document: document)
            }
        } catch EventBatch.Failure.malformed(let reason) {
            throw ProblemDetails.badRequest("the body is not a valid \(format.name): \(reason)")
        } catch EventBatch.Failure.tooManyEvents {
            throw ProblemDetails.tooLarge("a request may hold at most \(configuration.maxEvents) events")
        }
    }

    private static func resultsJSON(_ results: [(index: Int, id: String?, result: IngestResult)]) -> [UInt8] {
        var writer = JSONWriter(capacity: 128 * results.count)
        IngestResult.encode(results, into: &writer)
        return writer.bytes
    }
}

extension EventBatch.Format {
    var name: String {
        switch self {
        case .batch: "CloudEvents batch (a JSON array of events)"
        case .single: "CloudEvent (a JSON object)"
        case .ndjson: "NDJSON stream (one JSON event per line)"
        }
    }
}
