import Clinical
import Events

/// The NEWS2 JSON stored with a patient and returned by the query API:
/// `{total, risk, complete, missing, stale, scale, subscores, monitoring, at}`.
public enum NEWS2Document {
    /// The JSON object for `score`; `nullTime` writes `"at": null` when there is no
    /// reading (instead of leaving `at` out).
    public static func json(_ score: NEWS2Score, nullTime: Bool = false) -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.member("total", score.total)
        writer.member("risk", score.risk.rawValue)
        writer.member("complete", score.complete)
        writer.key("missing")
        writer.beginArray()
        for parameter in score.missing { writer.string(parameter.rawValue) }
        writer.endArray()
        writer.key("stale")
        writer.beginArray()
        for parameter in score.stale { writer.string(parameter.rawValue) }
        writer.endArray()
        writer.member("scale", score.scale.rawValue)
        writer.key("subscores")
        writer.beginObject()
        for parameter in NEWS2Parameter.allCases {
            if let value = score.subscores[parameter] { writer.member(parameter.rawValue, value) }
        }
        writer.endObject()
        writer.member("monitoring", score.monitoring.rawValue)
        if let at = score.at {
            writer.member("at", EventTime(at).rfc3339)
        } else if nullTime {
            writer.key("at")
            writer.null()
        }
        writer.endObject()
        return writer.bytes
    }
}
