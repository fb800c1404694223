import Events
import HTTPTypes
import Hummingbird
import NIOCore

/// An HTTP error body in the RFC 9457 format (`application/problem+json`):
/// `{type, title, status, detail, …extensions}`.
///
/// `detail` is written for the client: it never carries SQL, stack traces, tokens
/// or patient data. Extension members add structured information, e.g. the
/// per-event results of a refused batch.
public struct ProblemDetails: HTTPResponseError, Sendable {
    /// The media type of problem documents.
    public static let mediaType = "application/problem+json"

    /// HTTP status.
    public var status: HTTPResponse.Status
    /// A URI naming the problem type; `about:blank` when the status says it all.
    public var type: String
    /// Short summary, the same for every occurrence of the type.
    public var title: String
    /// What went wrong this time.
    public var detail: String?
    /// Extra headers, e.g. `Retry-After` or `WWW-Authenticate`.
    public var headers: HTTPFields
    /// Extension members, written as pre-encoded JSON values.
    public var extensions: [(String, [UInt8])]

    /// Creates a problem.
    public init(status: HTTPResponse.Status, type: String = "about:blank", title: String? = nil, detail: String? = nil, headers: HTTPFields = [:], extensions: [(String, [UInt8])] = []) {
        self.status = status
        self.type = type
        self.title = title ?? status.reasonPhrase
        self.detail = detail
        self.headers = headers
        self.extensions = extensions
    }

    /// 400 Bad Request.
    public static func badRequest(_ detail: String) -> ProblemDetails { ProblemDetails(status: .badRequest, detail: detail) }
    /// 401 Unauthorized, with `WWW-Authenticate: Bearer`.
    public static func unauthorized(_ detail: String) -> ProblemDetails {
        ProblemDetails(status: .unauthorized, detail: detail, headers: [.wwwAuthenticate: "Bearer"])
    }
    /// 403 Forbidden.
    public static func forbidden(_ detail: String) -> ProblemDetails { ProblemDetails(status: .forbidden, detail: detail) }
    /// 404 Not Found.
    public static func notFound(_ detail: String) -> ProblemDetails { ProblemDetails(status: .notFound, detail: detail) }
    /// 413 Content Too Large.
    public static func tooLarge(_ detail: String) -> ProblemDetails { ProblemDetails(status: .contentTooLarge, detail: detail) }
    /// 415 Unsupported Media Type.
    public static func unsupportedMediaType(_ detail: String) -> ProblemDetails { ProblemDetails(status: .unsupportedMediaType, detail: detail) }
    /// 503 Service Unavailable with `Retry-After`.
    public static func unavailable(_ detail: String, retryAfterSeconds: Int) -> ProblemDetails {
        ProblemDetails(status: .serviceUnavailable, detail: detail, headers: [.retryAfter: String(retryAfterSeconds)])
    }

    /// The JSON document.
    public var json: [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.member("type", type)
        writer.member("title", title)
        writer.member("status", status.code)
        writer.member("detail", detail)
        for (name, value) in extensions {
            writer.key(name)
            writer.raw(value)
        }
        writer.endObject()
        return writer.bytes
    }

    /// The HTTP response.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    /// The HTTP response, outside a request handler.
    public func response() -> Response {
        var fields = headers
        fields[.contentType] = Self.mediaType
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: json)))
    }
}

extension Response {
    /// A JSON response from pre-encoded bytes.
    public static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
