import Synchronization

/// Patient records this worker wrote, by the row version it wrote them with.
///
/// A batch reads each row's `version` first and parses the stored state only
/// where the version differs from the cached one (another worker wrote it, or it
/// is not cached). Versions are random per write, so a write that rolled back
/// never matches and a stale entry is never used.
final class PatientRecordCache: Sendable {
    private let entries = Mutex<[String: (version: Int64, record: PatientRecord)]>([:])
    private let limit: Int

    init(limit: Int = 100_000) {
        self.limit = limit
    }

    func record(_ id: String, version: Int64) -> PatientRecord? {
        entries.withLock { entries in
            guard let entry = entries[id], entry.version == version else { return nil }
            return entry.record
        }
    }

    func store(_ records: [PatientRecord], version: Int64) {
        entries.withLock { entries in
            if entries.count + records.count > limit { entries.removeAll(keepingCapacity: true) }
            for record in records { entries[record.patientId] = (version, record) }
        }
    }
}
