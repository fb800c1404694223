import Events

/// The events of one ingest request, decoded and validated, each either ready
/// for Kafka or refused with a reason.
struct EventBatch {
    /// How the request body carried its events.
    enum Format: Equatable {
        /// `application/cloudevents-batch+json`: a JSON array of events.
        case batch
        /// `application/cloudevents+json`: one event.
        case single
        /// `application/x-ndjson`: one event per line.
        case ndjson

        /// The format for a `Content-Type` value, ignoring parameters and case.
        init?(contentType: String?) {
            guard let contentType else { return nil }
            let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map {
                $0.trimmingCharactersInSet().lowercased()
            } ?? ""
            switch mediaType {
            case "application/cloudevents-batch+json": self = .batch
            case "application/cloudevents+json": self = .single
            case "application/x-ndjson", "application/ndjson": self = .ndjson
            default: return nil
            }
        }
    }

    /// One event of the request.
    struct Entry {
        /// Position in the request.
        var index: Int
        /// The event's `id`, when it could be read.
        var id: String?
        /// The decoded event and where its `data` bytes are in the body, or why it
        /// was refused.
        var outcome: Result<(event: Event, data: Range<Int>), EventValidationError>
    }

    /// A problem with the request as a whole.
    enum Failure: Error, Equatable {
        /// Not JSON, or not the shape the format requires.
        case malformed(String)
        /// More events than allowed.
        case tooManyEvents(Int)
    }

    var entries: [Entry]

    /// Decodes `body` in `format`, refusing events larger than `maxEventBytes` and
    /// requests with more than `maxEvents` events.
    static func decode(_ body: UnsafeRawBufferPointer, format: Format, maxEvents: Int, maxEventBytes: Int, document: JSONDocument) throws(Failure) -> EventBatch {
        switch format {
        case .single:
            do {
                let entry = try document.parse(body) { root in decodeEntry(root, index: 0, maxEventBytes: maxEventBytes, inBatch: false, body: body) }
                return EventBatch(entries: [entry])
            } catch {
                throw .malformed("\(error)")
            }
        case .batch:
            do {
                return try document.parse(body) { root throws -> EventBatch in
                    guard root.kind == .array else { throw Failure.malformed("a CloudEvents batch must be a JSON array") }
                    guard root.count <= maxEvents else { throw Failure.tooManyEvents(root.count) }
                    var entries: [Entry] = []
                    entries.reserveCapacity(root.count)
                    root.forEachElement { index, element in
                        entries.append(decodeEntry(element, index: index, maxEventBytes: maxEventBytes, inBatch: true, body: body))
                    }
                    return EventBatch(entries: entries)
                }
            } catch let failure as Failure {
                throw failure
            } catch {
                throw .malformed("\(error)")
            }
        case .ndjson:
            var entries: [Entry] = []
            var lineStart = 0
            var index = 0
            while lineStart < body.count {
                var lineEnd = lineStart
                while lineEnd < body.count, body[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                let line = UnsafeRawBufferPointer(rebasing: body[lineStart..<lineEnd])
                lineStart = lineEnd + 1
                guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }
                guard entries.count < maxEvents else { throw .tooManyEvents(entries.count + 1) }
                let position = index
                index += 1
                if line.count > maxEventBytes {
                    entries.append(Entry(index: position, id: nil, outcome: .failure(tooLarge(maxEventBytes).within("events[\(position)]"))))
                    continue
                }
                do {
                    entries.append(try document.parse(line) { root in decodeEntry(root, index: position, maxEventBytes: maxEventBytes, inBatch: true, body: body) })
                } catch {
                    let refusal = EventValidationError(.malformed, path: "events[\(position)]", "\(error)")
                    entries.append(Entry(index: position, id: nil, outcome: .failure(refusal)))
                }
            }
            return EventBatch(entries: entries)
        }
    }

    private static func tooLarge(_ limit: Int) -> EventValidationError {
        EventValidationError(.tooLarge, path: "", "the event is larger than \(limit) bytes")
    }

    /// Decodes one event. Paths in refusals start with `events[i]` in a batch or
    /// stream (built only for refusals: the accepted path allocates no text).
    private static func decodeEntry(_ value: JSONValue, index: Int, maxEventBytes: Int, inBatch: Bool, body: UnsafeRawBufferPointer) -> Entry {
        do throws(EventValidationError) {
            let size = value.kind == .object ? value.rawBytes.count : 0
            guard size <= maxEventBytes else { throw tooLarge(maxEventBytes) }
            var data: UnsafeRawBufferPointer?
            let event = try EventEnvelope.decode(value, dataBytes: &data)
            let start = body.baseAddress.map { data!.baseAddress! - UnsafeRawPointer($0) } ?? 0
            return Entry(index: index, id: event.id, outcome: .success((event, start..<start + data!.count)))
        } catch {
            let id = value.kind == .object ? value["id"]?.string : nil
            return Entry(index: index, id: id, outcome: .failure(inBatch ? error.within("events[\(index)]") : error))
        }
    }
}

extension Substring {
    fileprivate func trimmingCharactersInSet() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" { result.removeLast() }
        return result
    }
}
