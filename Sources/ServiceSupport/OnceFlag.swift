import Synchronization

/// A flag that goes from unset to set once (e.g. "migrations applied"), readable
/// from any thread.
public final class OnceFlag: Sendable {
    private let value = Atomic<Bool>(false)

    /// An unset flag.
    public init() {}

    /// Sets the flag.
    public func set() { value.store(true, ordering: .releasing) }

    /// True once set.
    public var isSet: Bool { value.load(ordering: .acquiring) }
}
