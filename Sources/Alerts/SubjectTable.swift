/// The subjects of one batch, found by key and changed in place.
///
/// The values sit in an array of exactly their number, not in a dictionary: a
/// subject is a large value, and a dictionary would reserve its size for every
/// empty bucket as well (a batch holds thousands of subjects).
struct SubjectTable {
    private(set) var values: [AlertSubject] = []
    private var positions: [String: Int] = [:]

    /// A table of `subjects`.
    init(_ subjects: [AlertSubject]) {
        values = subjects
        positions.reserveCapacity(subjects.count)
        for (position, subject) in subjects.enumerated() { positions[subject.key] = position }
    }

    /// The subject of `key`, if present.
    subscript(key: String) -> AlertSubject? {
        positions[key].map { values[$0] }
    }

    /// Adds the subjects whose keys are not present yet.
    mutating func addMissing(_ subjects: [AlertSubject]) {
        for subject in subjects where positions[subject.key] == nil {
            positions[subject.key] = values.count
            values.append(subject)
        }
    }

    /// Runs `body` on the subject of `key`, created empty if absent.
    mutating func update<Result>(_ key: String, _ body: (inout AlertSubject) -> Result) -> Result {
        let position: Int
        if let existing = positions[key] {
            position = existing
        } else {
            position = values.count
            positions[key] = position
            values.append(AlertSubject(key: key))
        }
        return body(&values[position])
    }

    /// Runs `body` on the subject of `key` if it is present.
    mutating func updateIfPresent(_ key: String, _ body: (inout AlertSubject) -> Void) {
        if let position = positions[key] { body(&values[position]) }
    }
}
