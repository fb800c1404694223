/// Decoding of CloudEvents in structured mode (a JSON object holding the
/// attributes and `data`), as posted to the ingest API and as third-party
/// producers may write to Kafka.
public enum EventEnvelope {
    /// Decodes and validates one structured-mode event. `dataBytes` receives the
    /// exact bytes of `data` (valid only while the document's bytes are), for
    /// writing them to Kafka unchanged. Error paths are relative to the event.
    public static func decode(_ value: JSONValue, dataBytes: inout UnsafeRawBufferPointer?) throws(EventValidationError) -> Event {
        guard value.kind == .object else {
            throw EventValidationError(.malformed, path: "", "an event must be a JSON object")
        }
        var specVersion: JSONValue?, id: JSONValue?, source: JSONValue?, typeValue: JSONValue?, time: JSONValue?
        var subject: JSONValue?, contentType: JSONValue?, dataSchema: JSONValue?, data: JSONValue?
        var extensions: [String: String] = [:]
        try value.forEachMember { key, member throws(EventValidationError) in
            func take(_ slot: inout JSONValue?, _ name: String) throws(EventValidationError) {
                guard slot == nil else { throw EventValidationError(.duplicateField, path: name, "appears more than once") }
                slot = member
            }
            if key.isString("specversion") { try take(&specVersion, "specversion") }
            else if key.isString("id") { try take(&id, "id") }
            else if key.isString("source") { try take(&source, "source") }
            else if key.isString("type") { try take(&typeValue, "type") }
            else if key.isString("time") { try take(&time, "time") }
            else if key.isString("subject") { try take(&subject, "subject") }
            else if key.isString("datacontenttype") { try take(&contentType, "datacontenttype") }
            else if key.isString("dataschema") { try take(&dataSchema, "dataschema") }
            else if key.isString("data") { try take(&data, "data") }
            else if member.kind == .string, let name = key.string, isExtensionName(name), let text = member.string {
                extensions[name] = text
            }
        }
        let type = try decodeType(typeValue)
        guard let specVersion else { throw EventValidationError(.missingField, path: "specversion", "is required") }
        guard specVersion.isString("1.0") else {
            throw EventValidationError(.unsupportedVersion, path: "specversion", "must be \"1.0\"")
        }
        let eventID = try attribute(id, "id", limit: Event.attributeLimit)
        let eventSource = try attribute(source, "source", limit: Event.attributeLimit)
        guard let time else { throw EventValidationError(.invalidTime, path: "time", "is required") }
        let eventTime = try FieldReader.time(time, "time")
        let eventSubject = try subject.map { value throws(EventValidationError) in try attribute(value, "subject", limit: Event.attributeLimit) }
        if let contentType, !contentType.isString("application/json") {
            throw EventValidationError(.invalidField, path: "datacontenttype", "must be \"application/json\"")
        }
        let schema = try dataSchema.map { value throws(EventValidationError) in try attribute(value, "dataschema", limit: 1024) }
        guard let data else { throw EventValidationError(.missingField, path: "data", "is required") }
        let payload: EventPayload
        do throws(EventValidationError) {
            payload = try EventPayload.decode(type, data)
        } catch {
            throw error.within("data")
        }
        dataBytes = data.rawBytes
        return Event(id: eventID, source: eventSource, time: eventTime, subject: eventSubject, dataSchema: schema, extensions: extensions, payload: payload)
    }

    /// Decodes one structured-mode event without keeping its data bytes.
    public static func decode(_ value: JSONValue) throws(EventValidationError) -> Event {
        var ignored: UnsafeRawBufferPointer?
        return try decode(value, dataBytes: &ignored)
    }

    private static func decodeType(_ value: JSONValue?) throws(EventValidationError) -> EventType {
        guard let value else { throw EventValidationError(.missingField, path: "type", "is required") }
        guard value.kind == .string else { throw EventValidationError(.invalidField, path: "type", "must be a string") }
        guard let type = EventType.parse(value.rawBytes) else {
            let shown = value.string.map { String($0.prefix(64)) } ?? "?"
            throw EventValidationError(.unknownType, path: "type", "\"\(shown)\" is not an event type of this contract")
        }
        return type
    }

    private static func attribute(_ value: JSONValue?, _ name: String, limit: Int) throws(EventValidationError) -> String {
        guard let value else { throw EventValidationError(.missingField, path: name, "is required") }
        return try FieldReader.label(value, name, limit: limit)
    }

    /// CloudEvents extension attribute names: lower-case letters and digits, at
    /// most 20 characters.
    static func isExtensionName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 20
            && name.utf8.allSatisfy { ($0 &- UInt8(ascii: "a")) < 26 || ($0 &- UInt8(ascii: "0")) < 10 }
    }
}
