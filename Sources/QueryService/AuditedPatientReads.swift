import Foundation
import Logging
import PostgresNIO

/// One audited read of a patient (`GET /v1/patients/{id}`).
struct PatientRead: Sendable {
    /// The patient asked for.
    var patientId: String
    /// The caller's facilities; nil for no limit (admin, break-glass).
    var facilities: [String]?
    /// When the read was asked for.
    var at: Date
    /// The caller (JWT `sub`).
    var subject: String
    /// The caller's roles, sorted.
    var roles: [String]
    /// The caller's address.
    var clientAddress: String?
    /// Whether break-glass access is used.
    var breakGlass: Bool
}

/// Patient reads with their audit rows, batched (``RequestBatcher``): one
/// statement looks up every patient of a batch, limited to each caller's
/// facilities, and writes one audit row per read: `ok` when the patient is
/// returned, `not-found-or-denied` when it is unknown or outside the caller's
/// scope (the two are not told apart, so the answer cannot reveal that a patient
/// exists elsewhere). The rows commit with the statement, before any read of the
/// batch returns.
///
/// Under load a round trip, a statement and a commit serve many reads: the
/// PostgreSQL client's work and the commit were most of a read's cost when each
/// read ran alone.
final class AuditedPatientReads: Sendable {
    /// Most reads in one statement.
    static let maxBatch = 128

    private let batcher: RequestBatcher<PatientRead, PatientLookup.Row?>

    /// - Parameter maxInFlight: most statements running at once.
    init(client: PostgresClient, maxInFlight: Int, logger: Logger) {
        batcher = RequestBatcher(maxBatch: Self.maxBatch, maxInFlight: maxInFlight) { reads in
            var found = [PatientLookup.Row?](repeating: nil, count: reads.count)
            for try await (index, state, devices) in try await client.execute(AuditedPatientLookups(reads: reads), logger: logger) {
                guard reads.indices.contains(Int(index)) else { continue }
                found[Int(index)] = (state, devices)
            }
            return found
        }
    }

    /// The connections of the reads: one per statement in flight, as the
    /// read-only role, with generic plans (`plan_cache_mode`). Left to itself,
    /// PostgreSQL plans the statement again for every batch (its arrays' sizes make
    /// each custom plan look cheaper), which took about 0.2 ms of a batch's
    /// 0.5–0.8 ms; its shape (a `LATERAL` lookup per read, by primary key) keeps
    /// the generic plan an index lookup whatever the table's size. The other
    /// endpoints keep the main pool and its custom plans.
    static func clientConfiguration(_ configuration: QueryConfiguration) throws -> PostgresClient.Configuration {
        var settings = configuration.queryDatabase
        settings.maximumConnections = configuration.readBatchesInFlight
        var client = try settings.clientConfiguration()
        client.options.additionalStartupParameters.append(("plan_cache_mode", "force_generic_plan"))
        return client
    }

    /// The patient's state document and devices, or nil when it is unknown or
    /// out of the caller's scope; returns once the read's audit row is committed.
    func read(_ read: PatientRead) async throws -> PatientLookup.Row? {
        try await batcher.submit(read)
    }
}

/// The statement behind ``AuditedPatientReads``: reads as parallel arrays, each
/// caller's facilities as (read index, facility) pairs.
struct AuditedPatientLookups: PostgresPreparedStatement {
    static let sql = """
        WITH request AS (
            SELECT * FROM unnest($1::int4[], $2::text[], $3::bool[], $4::int8[], $5::text[], $6::text[], $7::text[], $8::bool[])
                AS r(i, patient_id, unlimited, at_us, subject, roles, client_address, break_glass)
        ), allowed AS (
            SELECT * FROM unnest($9::int4[], $10::text[]) AS a(i, facility_id)
        ), found AS (
            SELECT r.i, l.state, l.devices
            FROM request r CROSS JOIN LATERAL (
                SELECT p.state::text AS state, \(PatientLookup.devices) AS devices
                FROM patient_state.patients p
                WHERE p.patient_id = r.patient_id
                  AND (r.unlimited OR EXISTS (SELECT 1 FROM allowed a WHERE a.i = r.i AND a.facility_id = p.facility_id))
                LIMIT 1
            ) l
        ), audited AS (
            INSERT INTO audit.reads (at, subject, roles, action, resource, patient_ids, outcome, client_address, break_glass)
            SELECT timestamptz 'epoch' + r.at_us * interval '1 microsecond', r.subject, string_to_array(r.roles, ','),
                   'get-patient', 'patient', ARRAY[r.patient_id],
                   CASE WHEN f.i IS NULL THEN 'not-found-or-denied' ELSE 'ok' END, nullif(r.client_address, ''), r.break_glass
            FROM request r LEFT JOIN found f ON f.i = r.i
            ORDER BY r.i
        )
        SELECT i, state, devices FROM found
        """
    /// Read index, state document (JSON text), assigned device ids.
    typealias Row = (Int32, String, [String])

    let reads: [PatientRead]

    func makeBindings() throws -> PostgresBindings {
        var allowedIndexes: [Int32] = []
        var allowedFacilities: [String] = []
        for (index, read) in reads.enumerated() {
            for facility in read.facilities ?? [] {
                allowedIndexes.append(Int32(index))
                allowedFacilities.append(facility)
            }
        }
        var bindings = PostgresBindings(capacity: 10)
        bindings.append(reads.indices.map { Int32($0) })
        bindings.append(reads.map(\.patientId))
        bindings.append(reads.map { $0.facilities == nil })
        bindings.append(reads.map { Int64(($0.at.timeIntervalSince1970 * 1_000_000).rounded()) })
        bindings.append(reads.map(\.subject))
        bindings.append(reads.map { $0.roles.joined(separator: ",") })
        bindings.append(reads.map { $0.clientAddress ?? "" })
        bindings.append(reads.map(\.breakGlass))
        bindings.append(allowedIndexes)
        bindings.append(allowedFacilities)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((Int32, String, [String]).self) }
}
