import Synchronization

/// Rows a worker wrote, by the row version it wrote them with, so that a batch
/// parses a stored state document only when someone else changed it.
///
/// A batch reads each row's `version` first and uses the cached value where the
/// versions match; it parses the stored state only where they differ (another
/// worker wrote the row, or it is not cached). Versions are random per write
/// (``newVersion()``), so a write that rolled back never matches and a stale entry
/// is never used.
///
/// Entries are boxed: a projection's row value is a large struct, and stored
/// inline a dictionary would reserve that size for every empty bucket too (and
/// hold two tables at once while it grows).
public final class VersionedRowCache<Value: Sendable>: Sendable {
    private final class Entry: Sendable {
        let version: Int64
        let value: Value

        init(version: Int64, value: Value) {
            self.version = version
            self.value = value
        }
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let limit: Int

    /// A cache of at most `limit` rows; past it, the cache starts over.
    public init(limit: Int = 100_000) {
        self.limit = limit
    }

    /// The value cached for `key` if it was written with `version`.
    public func value(_ key: String, version: Int64) -> Value? {
        entries.withLock { entries in
            guard let entry = entries[key], entry.version == version else { return nil }
            return entry.value
        }
    }

    /// The value cached for `key`, whatever its version, and that version.
    public func entry(_ key: String) -> (version: Int64, value: Value)? {
        entries.withLock { entries in entries[key].map { ($0.version, $0.value) } }
    }

    /// ``entry(_:)`` of each of `keys`, in their order, under one lock.
    public func entries(_ keys: [String]) -> [(version: Int64, value: Value)?] {
        entries.withLock { entries in keys.map { key in entries[key].map { ($0.version, $0.value) } } }
    }

    /// Remembers `values` as written with `version`.
    public func store(_ values: some Collection<(key: String, value: Value)>, version: Int64) {
        entries.withLock { entries in
            if entries.count + values.count > limit { entries.removeAll(keepingCapacity: true) }
            for (key, value) in values { entries[key] = Entry(version: version, value: value) }
        }
    }

    /// A fresh random row version for one batch's writes.
    /// Never 0: that version marks a row changed by a writer that did not set one
    /// (see ``VersionedRowTable/versionGuardStatements``).
    public static func newVersion() -> Int64 {
        var version: Int64
        repeat { version = Int64.random(in: Int64.min...Int64.max) } while version == 0
        return version
    }
}
