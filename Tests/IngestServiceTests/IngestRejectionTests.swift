import Events
import Foundation
import HTTPTypes
import IngestService
import Testing

@Suite("Ingest refuses bad requests with a clear error", .serialized, .timeLimit(.minutes(3)))
struct IngestRejectionTests {
    /// Posts one request with a fresh device token and returns the reply.
    func post(_ body: (String) -> String, contentType: String? = "application/cloudevents-batch+json", adjust: (inout IngestConfiguration) -> Void = { _ in }) async throws -> IngestClient.Reply {
        let device = Sample.uniqueDevice()
        let text = body(device)
        return try await withIngest(adjust: adjust) { client in
            let token = try await client.tokens.create(deviceId: device)
            return try await client.post(text, contentType: contentType, token: token)
        }
    }

    func expectProblem(_ reply: IngestClient.Reply, _ status: Int, detailContains: String? = nil) {
        #expect(reply.status.code == status, "\(reply.text)")
        #expect(reply.headers[.contentType] == "application/problem+json")
        #expect(reply.json["status"] as? Int == status)
        if let detailContains {
            #expect((reply.json["detail"] as? String)?.contains(detailContains) == true, "\(reply.text)")
        }
    }

    func firstReason(_ reply: IngestClient.Reply) -> (code: String?, field: String?) {
        let result = (reply.json["results"] as? [[String: Any]])?.first
        return (result?["code"] as? String, result?["field"] as? String)
    }

    @Test("malformed JSON is 400")
    func malformedJSON() async throws {
        expectProblem(try await post { _ in #"[{"specversion": "1.0",]"# }, 400, detailContains: "malformed JSON")
    }

    @Test("a batch that is not an array is 400")
    func batchNotArray() async throws {
        expectProblem(try await post { Sample.vitals(device: $0) }, 400)
    }

    @Test("an unknown type is 422 with code unknown_type")
    func unknownType() async throws {
        let reply = try await post { device in Sample.batch([Sample.vitals(device: device).replacingOccurrences(of: "iomt.vitals.observed.v1", with: "iomt.vitals.guessed.v1")]) }
        expectProblem(reply, 422)
        #expect(firstReason(reply) == ("unknown_type", "events[0].type"))
    }

    @Test("a missing field is 422 naming it")
    func missingField() async throws {
        let reply = try await post { device in Sample.batch([Sample.vitals(device: device).replacingOccurrences(of: #","unit":"%""#, with: "")]) }
        expectProblem(reply, 422)
        #expect(firstReason(reply) == ("missing_field", "events[0].data.observations[1].unit"))
    }

    @Test("a mistyped field is 422 naming it")
    func mistypedField() async throws {
        let reply = try await post { device in Sample.batch([Sample.vitals(device: device).replacingOccurrences(of: #""value":72"#, with: #""value":"72""#)]) }
        expectProblem(reply, 422)
        #expect(firstReason(reply) == ("invalid_field", "events[0].data.observations[0].value"))
    }

    @Test("a wrong unit is 422 naming the field and the expected unit")
    func wrongUnit() async throws {
        let reply = try await post { device in Sample.batch([Sample.vitals(device: device, unit: "bpm")]) }
        expectProblem(reply, 422)
        #expect(firstReason(reply) == ("invalid_unit", "events[0].data.observations[0].unit"))
    }

    @Test("a missing or bad time is 422 with code invalid_time", arguments: ["2026-11-25T10:00:00", "yesterday", "2026-02-30T10:00:00Z"])
    func badTime(time: String) async throws {
        let reply = try await post { device in Sample.batch([Sample.vitals(device: device, time: time)]) }
        expectProblem(reply, 422)
        #expect(firstReason(reply) == ("invalid_time", "events[0].time"))
        let missing = try await post { device in Sample.batch([Sample.vitals(device: device).replacingOccurrences(of: #""time":"2026-11-25T10:00:00Z","#, with: "")]) }
        #expect(firstReason(missing) == ("invalid_time", "events[0].time"))
    }

    @Test("a body over the limit is 413")
    func oversizeBody() async throws {
        let reply = try await post({ device in Sample.batch(Array(repeating: Sample.vitals(device: device), count: 40)) }) { $0.maxBodyBytes = 4096 }
        expectProblem(reply, 413)
    }

    @Test("a batch with too many events is 413")
    func oversizeBatch() async throws {
        let reply = try await post({ device in Sample.batch(Array(repeating: Sample.vitals(device: device), count: 6)) }) { $0.maxEvents = 5 }
        expectProblem(reply, 413, detailContains: "at most 5 events")
    }

    @Test("an event over the per-event limit is refused with code too_large")
    func oversizeEvent() async throws {
        let reply = try await post({ device in
            Sample.batch([Sample.vitals(device: device).replacingOccurrences(of: #""source":"#, with: #""padding":"\#(String(repeating: "x", count: 600))","source":"#)])
        }) { $0.maxEventBytes = 512 }
        expectProblem(reply, 422)
        #expect(firstReason(reply).code == "too_large")
    }

    @Test("a wrong content type is 415")
    func wrongContentType() async throws {
        expectProblem(try await post({ Sample.batch([Sample.vitals(device: $0)]) }, contentType: "text/plain"), 415)
        expectProblem(try await post({ Sample.batch([Sample.vitals(device: $0)]) }, contentType: nil), 415)
    }

    @Test("no token, a bad token and a revoked token are 401")
    func badCredentials() async throws {
        let device = Sample.uniqueDevice()
        try await withIngest { client in
            let body = Sample.batch([Sample.vitals(device: device)])
            let none = try await client.post(body, token: nil)
            #expect(none.status == .unauthorized)
            #expect(none.headers[.wwwAuthenticate] == "Bearer")
            #expect(try await client.post(body, token: "iomt_dev_not-a-real-token").status == .unauthorized)
            #expect(try await client.post(body, token: "garbage").status == .unauthorized)
            let token = try await client.tokens.create(deviceId: device)
            #expect(try await client.post(body, token: token).status == .accepted)
            #expect(try await client.tokens.revoke(deviceId: device) == 1)
            let revoked = try await client.post(body, token: token)
            #expect(revoked.status == .unauthorized)
            #expect(revoked.json["detail"] as? String == "the device token is not valid or was revoked")
        }
    }

    @Test("tokens created for a fleet in one statement each admit their own device only")
    func fleetTokens() async throws {
        let devices = (0..<3).map { _ in Sample.uniqueDevice() }
        try await withIngest { client in
            let tokens = try await client.tokens.create(deviceIds: devices + [devices[0]], label: "fleet")
            #expect(tokens.count == 3)
            #expect(Set(tokens.values).count == 3)
            for device in devices {
                let token = try #require(tokens[device])
                #expect(try await client.tokens.authenticate(token) == device)
                #expect(try await client.post(Sample.batch([Sample.vitals(device: device)]), token: token).status == .accepted)
            }
            let first = try #require(tokens[devices[0]])
            let other = try await client.post(Sample.batch([Sample.vitals(device: devices[1])]), token: first)
            #expect(other.status == .forbidden)
            #expect(try await client.tokens.list(deviceId: devices[2]).map(\.label) == ["fleet"])
        }
    }

    @Test("a device publishing as another device is 403")
    func impersonation() async throws {
        let reply = try await post { _ in Sample.batch([Sample.vitals(device: "dev-someone-else")]) }
        expectProblem(reply, 403, detailContains: "its own device")
    }

    @Test("a device publishing a care event is 403")
    func deviceCareEvent() async throws {
        let reply = try await post({ _ in Sample.admitted(patient: "pat-1") }, contentType: "application/cloudevents+json")
        expectProblem(reply, 403, detailContains: "device events only")
    }

    @Test("expired, forged and role-less JWTs are refused")
    func badJWTs() async throws {
        try await withIngest { client in
            let event = Sample.admitted(patient: "pat-000778")
            let expired = try await client.post(event, contentType: "application/cloudevents+json", token: try await jwt(roles: [.clinicalSystem], expiresIn: -60))
            #expect(expired.status == .unauthorized)
            #expect(expired.json["detail"] as? String == "the token has expired")
            let forged = try await client.post(event, contentType: "application/cloudevents+json", token: try await jwt(roles: [.clinicalSystem], secret: "another-secret-0123456789-abcdefghijklmnop"))
            #expect(forged.status == .unauthorized)
            #expect(forged.json["detail"] as? String == "the token signature is not valid")
            let clinician = try await client.post(event, contentType: "application/cloudevents+json", token: try await jwt(roles: [.clinician]))
            #expect(clinician.status == .forbidden)
            let deviceEvent = try await client.post(Sample.vitals(device: "dev-x"), contentType: "application/cloudevents+json", token: try await jwt(roles: [.clinicalSystem]))
            #expect(deviceEvent.status == .forbidden)
        }
    }

    @Test("error bodies never echo the bearer token")
    func noTokenEcho() async throws {
        try await withIngest { client in
            let reply = try await client.post("[]", token: "iomt_dev_secret-value-that-must-not-leak")
            #expect(!reply.text.contains("secret-value"))
        }
    }
}
