/// The subjects of one batch, found by key and changed in place.
///
/// The values sit in an array, found through their positions, with a flag per
/// position for the subjects a batch changed.
struct SubjectTable: Sendable {
    private(set) var values: [AlertSubject] = []
    private var positions: [String: Int] = [:]
    /// Whether ``update(_:_:)`` ran on the subject at each position (a flag per
    /// position rather than a set of keys: a batch updates subjects per event).
    private var touched: [Bool] = []

    /// A table of `subjects`, taking their array over.
    init(_ subjects: consuming [AlertSubject]) {
        values = consume subjects
        touched = Array(repeating: false, count: values.count)
        positions.reserveCapacity(values.count)
        for position in values.indices { positions[values[position].key] = position }
    }

    /// The keys of the subjects ``update(_:_:)`` ran on, sorted.
    var touchedKeys: [String] {
        values.indices.filter { touched[$0] }.map { values[$0].key }.sorted()
    }

    /// Runs `body` on each subject ``update(_:_:)`` ran on, in table order (read
    /// in place, not looked up by key).
    func forEachTouched(_ body: (AlertSubject) -> Void) {
        for position in values.indices where touched[position] { body(values[position]) }
    }

    /// Marks the subject of `key` touched, if present.
    mutating func touch(_ key: String) {
        if let position = positions[key] { touched[position] = true }
    }

    /// The subject of `key`, if present.
    subscript(key: String) -> AlertSubject? {
        positions[key].map { values[$0] }
    }

    /// Adds the subjects whose keys are not present yet.
    mutating func addMissing(_ subjects: [AlertSubject]) {
        values.reserveCapacity(values.count + subjects.count)
        for subject in subjects where positions[subject.key] == nil {
            positions[subject.key] = values.count
            values.append(subject)
            touched.append(false)
        }
    }

    /// Runs `body` on the subject of `key`, created empty if absent, and marks it
    /// touched.
    mutating func update<Result>(_ key: String, _ body: (inout AlertSubject) -> Result) -> Result {
        let position: Int
        if let existing = positions[key] {
            position = existing
        } else {
            position = values.count
            positions[key] = position
            values.append(AlertSubject(key: key))
            touched.append(false)
        }
        touched[position] = true
        return body(&values[position])
    }

    /// Runs `body` on the subject of `key` if it is present, and marks it touched
    /// (so it is written).
    mutating func updateIfPresent(_ key: String, _ body: (inout AlertSubject) -> Void) {
        guard let position = positions[key] else { return }
        touched[position] = true
        body(&values[position])
    }
}
