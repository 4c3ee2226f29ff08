/// One gauge series: a family's value for one set of label values.
///
/// Obtain it once from ``GaugeFamily/labels(_:)`` and keep it. `set` is one atomic store;
/// `add` a compare-and-exchange loop. No lock is taken.
public final class Gauge: Sendable {
    private let current = AtomicDouble()

    init() {}

    /// Replaces the value.
    public func set(_ value: Double) {
        current.store(value)
    }

    /// Adds `delta`, which may be negative.
    public func add(_ delta: Double) {
        current.add(delta)
    }

    /// Adds one.
    public func increment() {
        current.add(1)
    }

    /// Subtracts one.
    public func decrement() {
        current.add(-1)
    }

    /// The current value.
    public var value: Double { current.load() }
}
