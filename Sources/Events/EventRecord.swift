/// A Kafka record header as the Kafka client represents it. The Events module
/// does no I/O, so it works with any header type that can be built from and
/// read as a name and bytes.
public protocol EventRecordHeader {
    /// Creates a header.
    init(name: String, value: [UInt8]?)
    /// The header name.
    var name: String { get }
    /// The header value.
    var value: [UInt8]? { get }
}

/// CloudEvents' Kafka protocol binding, binary content mode: attributes in
/// `ce_<name>` headers, `content-type: application/json`, `data` as the value.
public enum EventRecord {
    /// The content type of binary-mode records.
    public static let jsonContentType = "application/json"
    /// The content type of structured-mode records.
    public static let structuredContentType = "application/cloudevents+json"

    private static let specVersionValue = Array(Event.specVersion.utf8)
    private static let jsonContentTypeValue = Array(jsonContentType.utf8)

    /// The headers of `event` in binary mode: `ce_specversion`, `ce_id`,
    /// `ce_source`, `ce_type`, `ce_time`, `content-type`, then `ce_subject`,
    /// `ce_dataschema` and extensions when present. `ce_source` and `ce_id` are
    /// written unchanged.
    public static func headers<Header: EventRecordHeader>(for event: Event, as: Header.Type = Header.self) -> [Header] {
        var headers: [Header] = []
        headers.reserveCapacity(6 + (event.subject == nil ? 0 : 1) + (event.dataSchema == nil ? 0 : 1) + event.extensions.count)
        forEachHeader(of: event) { name, value in headers.append(Header(name: name, value: Array(value))) }
        return headers
    }

    /// Calls `body` with the name and value of each header of ``headers(for:as:)``,
    /// in that order, the value in a buffer valid only during the call: a writer
    /// that copies the bytes anyway (into a record batch) needs no array per header.
    public static func forEachHeader(of event: Event, _ body: (String, UnsafeRawBufferPointer) -> Void) {
        forEachRequiredHeader(id: event.id, source: event.source, type: event.type, time: event.time, body)
        if let subject = event.subject { header("ce_subject", subject, body) }
        if let schema = event.dataSchema { header("ce_dataschema", schema, body) }
        for (name, value) in event.extensions.sorted(by: { $0.key < $1.key }) {
            header("ce_" + name, value, body)
        }
    }

    /// The headers of an event with no subject, data schema or extensions, from
    /// its attributes alone: for a relay that holds the event's `data` already
    /// serialized and need not decode it to build an ``Event``. The same headers
    /// as ``headers(for:as:)`` gives for such an event.
    public static func headers<Header: EventRecordHeader>(id: String, source: String, type: EventType, time: EventTime, as: Header.Type = Header.self) -> [Header] {
        var headers: [Header] = []
        headers.reserveCapacity(6)
        forEachRequiredHeader(id: id, source: source, type: type, time: time) { name, value in headers.append(Header(name: name, value: Array(value))) }
        return headers
    }

    /// `ce_specversion`, `ce_id`, `ce_source`, `ce_type`, `ce_time` and
    /// `content-type`, in that order.
    private static func forEachRequiredHeader(id: String, source: String, type: EventType, time: EventTime, _ body: (String, UnsafeRawBufferPointer) -> Void) {
        specVersionValue.withUnsafeBytes { body("ce_specversion", $0) }
        header("ce_id", id, body)
        header("ce_source", source, body)
        type.utf8.withUnsafeBytes { body("ce_type", $0) }
        time.withRFC3339UTF8 { body("ce_time", $0) }
        jsonContentTypeValue.withUnsafeBytes { body("content-type", $0) }
    }

    private static func header(_ name: String, _ value: String, _ body: (String, UnsafeRawBufferPointer) -> Void) {
        var value = value
        value.withUTF8 { body(name, UnsafeRawBufferPointer($0)) }
    }

    /// The record key (deviceId, patientId or alertId) as bytes.
    public static func key(for event: Event) -> [UInt8] { Array(event.partitionKey.utf8) }

    /// The record value: `data` as compact JSON.
    public static func value(for event: Event) -> [UInt8] {
        var writer = JSONWriter()
        event.payload.encode(into: &writer)
        return writer.bytes
    }

    /// `event` in structured content mode: one JSON object with the CloudEvents
    /// attributes and `data`, the form of `application/cloudevents+json` and of
    /// each element of an `application/cloudevents-batch+json` array.
    public static func structured(_ event: Event, into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("specversion", Event.specVersion)
        writer.member("id", event.id)
        writer.member("source", event.source)
        writer.member("type", event.type.rawValue)
        writer.member("time", event.time.rfc3339)
        writer.member("subject", event.subject)
        writer.member("dataschema", event.dataSchema)
        for (name, value) in event.extensions.sorted(by: { $0.key < $1.key }) {
            writer.member(name, value)
        }
        writer.member("datacontenttype", jsonContentType)
        writer.key("data")
        event.payload.encode(into: &writer)
        writer.endObject()
    }

    /// `events` as an `application/cloudevents-batch+json` body.
    public static func structuredBatch(_ events: some Sequence<Event>) -> [UInt8] {
        var writer = JSONWriter(capacity: 4096)
        writer.beginArray()
        for event in events { structured(event, into: &writer) }
        writer.endArray()
        return writer.bytes
    }
}

/// Decodes Kafka records of this contract, in binary or structured content mode.
/// Keeps a reusable parse buffer: one decoder per task or thread.
public final class EventRecordDecoder {
    private let document = JSONDocument()

    /// Creates a decoder.
    public init() {}

    /// Decodes and validates a record. Errors name the header (`ce_time`) or the
    /// field (`data.observations[0].unit`) at fault.
    @inlinable
    public func decode<Header: EventRecordHeader>(headers: [Header], value: [UInt8]) throws(EventValidationError) -> Event {
        // Inlined into the caller, so the header loop is specialised for its header
        // type; the rest is not generic.
        var attributes = RecordAttributes()
        for header in headers { attributes.take(name: header.name, value: header.value) }
        return try decode(attributes: attributes, value: value)
    }

    /// Decodes and validates a record whose headers were read into `attributes`.
    public func decode(attributes: RecordAttributes, value: [UInt8]) throws(EventValidationError) -> Event {
        let specVersion = attributes.specVersion, id = attributes.id, source = attributes.source, type = attributes.type
        let time = attributes.time, subject = attributes.subject, dataSchema = attributes.dataSchema, contentType = attributes.contentType
        let extensions = attributes.extensions
        if let contentType, contentType.starts(with: Array(EventRecord.structuredContentType.utf8)) {
            return try decodeStructured(value)
        }
        if let contentType, !contentType.starts(with: Array(EventRecord.jsonContentType.utf8)) {
            throw EventValidationError(.invalidField, path: "content-type", "must be application/json or application/cloudevents+json")
        }
        guard let typeBytes = type else { throw EventValidationError(.missingField, path: "ce_type", "is required") }
        guard let eventType = typeBytes.withUnsafeBytes({ EventType.parse($0) }) else {
            throw EventValidationError(.unknownType, path: "ce_type", "\"\(String(decoding: typeBytes.prefix(64), as: UTF8.self))\" is not an event type of this contract")
        }
        guard let specVersion else { throw EventValidationError(.missingField, path: "ce_specversion", "is required") }
        guard specVersion.elementsEqual(Event.specVersion.utf8) else {
            throw EventValidationError(.unsupportedVersion, path: "ce_specversion", "must be \"1.0\"")
        }
        let eventID = try Self.attribute(id, "ce_id")
        let eventSource = try Self.attribute(source, "ce_source")
        guard let time else { throw EventValidationError(.invalidTime, path: "ce_time", "is required") }
        guard let eventTime = time.withUnsafeBytes({ EventTime(rfc3339: $0) }) else {
            throw EventValidationError(.invalidTime, path: "ce_time", "must be an RFC 3339 date-time with an offset")
        }
        let payload: EventPayload
        do {
            payload = try document.parse(value) { root in try EventPayload.decode(eventType, root) }
        } catch let error as EventValidationError {
            throw error.within("data")
        } catch {
            throw EventValidationError(.malformed, path: "data", "\(error)")
        }
        return Event(
            id: eventID,
            source: eventSource,
            time: eventTime,
            subject: subject.map { String(decoding: $0, as: UTF8.self) },
            dataSchema: dataSchema.map { String(decoding: $0, as: UTF8.self) },
            extensions: extensions,
            payload: payload
        )
    }

    /// Decodes a structured-mode value (the whole event as JSON).
    public func decodeStructured(_ value: [UInt8]) throws(EventValidationError) -> Event {
        do {
            return try document.parse(value) { root in try EventEnvelope.decode(root) }
        } catch let error as EventValidationError {
            throw error
        } catch {
            throw EventValidationError(.malformed, path: "", "\(error)")
        }
    }

    private static func attribute(_ bytes: [UInt8]?, _ name: String) throws(EventValidationError) -> String {
        guard let bytes, !bytes.isEmpty else { throw EventValidationError(.missingField, path: name, "is required") }
        guard bytes.count <= 4 * Event.attributeLimit, let text = bytes.withUnsafeBytes({ JSONString.string(fromUTF8: $0) }),
              bytes.count <= Event.attributeLimit || text.unicodeScalars.count <= Event.attributeLimit
        else {
            throw EventValidationError(.invalidField, path: name, "must be UTF-8 text of at most \(Event.attributeLimit) characters")
        }
        return text
    }
}

/// CloudEvents attributes read from Kafka record headers (`ce_*`, `content-type`).
public struct RecordAttributes: Sendable {
    var specVersion: [UInt8]?, id: [UInt8]?, source: [UInt8]?, type: [UInt8]?, time: [UInt8]?
    var subject: [UInt8]?, dataSchema: [UInt8]?, contentType: [UInt8]?
    var extensions: [String: String] = [:]

    /// No attributes yet.
    public init() {}

    /// Takes one header; headers that are not CloudEvents attributes are ignored.
    public mutating func take(name: String, value: [UInt8]?) {
        var name = name
        name.withUTF8 { utf8 in
            let raw = UnsafeRawBufferPointer(utf8)
            if JSONValue.equal(raw, "ce_id") { id = value }
            else if JSONValue.equal(raw, "ce_type") { type = value }
            else if JSONValue.equal(raw, "ce_time") { time = value }
            else if JSONValue.equal(raw, "ce_source") { source = value }
            else if JSONValue.equal(raw, "ce_specversion") { specVersion = value }
            else if JSONValue.equal(raw, "content-type") { contentType = value }
            else if JSONValue.equal(raw, "ce_subject") { subject = value }
            else if JSONValue.equal(raw, "ce_dataschema") { dataSchema = value }
            else if raw.count > 3, raw[0] == UInt8(ascii: "c"), raw[1] == UInt8(ascii: "e"), raw[2] == UInt8(ascii: "_"), let value {
                let attribute = String(decoding: raw[3...], as: UTF8.self)
                if EventEnvelope.isExtensionName(attribute) { extensions[attribute] = String(decoding: value, as: UTF8.self) }
            }
        }
    }
}
