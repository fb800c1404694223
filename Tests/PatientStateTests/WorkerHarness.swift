import Events
import Foundation
import Kafka
import PatientState
import PostgresNIO
import ServiceSupport
import Testing
import WorkerTestSupport

/// A patient row as stored, for comparison with a reference fold.
struct StoredPatient: Equatable, CustomStringConvertible {
    var eventsApplied: Int
    var status: String
    var unit: String?
    var vitals: [String: Double]
    var news2Total: Int?
    var lastEventAt: Int64?

    var description: String { "applied=\(eventsApplied) status=\(status) unit=\(unit ?? "-") news2=\(news2Total ?? -1) vitals=\(vitals.sorted { $0.key < $1.key })" }

    init(_ record: PatientRecord) {
        eventsApplied = record.eventsApplied
        status = (record.status?.value ?? .unknown).rawValue
        unit = record.location?.value.unit
        vitals = record.vitals.mapValues(\.value.value)
        news2Total = record.news2.total
        lastEventAt = record.lastEventAt?.microseconds
    }

    init(eventsApplied: Int, status: String, unit: String?, vitals: [String: Double], news2Total: Int?, lastEventAt: Int64?) {
        self.eventsApplied = eventsApplied
        self.status = status
        self.unit = unit
        self.vitals = vitals
        self.news2Total = news2Total
        self.lastEventAt = lastEventAt
    }
}

func storedPatients(_ database: TestDatabase) async throws -> [String: StoredPatient] {
    try await database.withClient { client in
        var result: [String: StoredPatient] = [:]
        let rows = try await client.query("""
            SELECT patient_id, events_applied, status, unit, state::text, news2_total, (extract(epoch FROM last_event_at) * 1000000)::int8
            FROM patient_state.patients
            """)
        for try await (id, applied, status, unit, vitals, news2, last) in rows.decode((String, Int64, String, String?, String, Int?, Int64?).self) {
            var values: [String: Double] = [:]
            try JSONDocument().parse(Array(vitals.utf8)) { root in
                root["vitals"]?.forEachMember { code, reading in values[code.string!] = reading["value"]?.number }
            }
            result[id] = StoredPatient(eventsApplied: Int(applied), status: status, unit: unit, vitals: values, news2Total: news2, lastEventAt: last)
        }
        return result
    }
}

/// What a reference fold of `events` says the table must hold.
func expectedPatients(_ events: [Event]) -> [String: StoredPatient] {
    var fold = PatientStateFold()
    for event in events where PatientStateProjection().eventTypes.contains(event.type) { fold.apply(event) }
    return fold.patients.mapValues(StoredPatient.init)
}

/// Compares stored rows with the reference, recording at most a few differences.
func expectMatchesReference(_ stored: [String: StoredPatient], _ expected: [String: StoredPatient], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(stored.count == expected.count, "patients stored \(stored.count), expected \(expected.count)", sourceLocation: sourceLocation)
    var differences = 0
    for (id, want) in expected.sorted(by: { $0.key < $1.key }) where stored[id] != want {
        differences += 1
        if differences <= 5 {
            Issue.record("patient \(id): stored \(stored[id].map(String.init(describing:)) ?? "nothing"), expected \(want)", sourceLocation: sourceLocation)
        }
    }
    #expect(differences == 0, "\(differences) patients differ", sourceLocation: sourceLocation)
}
