import Synchronization

/// One counter series: a family's value for one set of label values.
///
/// Obtain it once from ``CounterFamily/labels(_:)`` and keep it; recording is lock-free.
/// Whole increments cost one atomic add; fractional additions a compare-and-exchange loop.
public final class Counter: Sendable {
    private let whole = Atomic<UInt64>(0)
    private let fraction = AtomicDouble()

    init() {}

    /// Adds `amount`. Negative amounts are ignored, since a counter never goes down.
    public func increment(by amount: Int = 1) {
        guard amount > 0 else { return }

        whole.wrappingAdd(UInt64(amount), ordering: .relaxed)
    }

    /// Adds a non-integral amount, such as seconds of CPU time. Negative amounts, NaN and
    /// infinities are ignored.
    public func add(_ amount: Double) {
        guard amount > 0, amount.isFinite else { return }

        fraction.add(amount)
    }

    /// The current total.
    public var value: Double {
        Double(whole.load(ordering: .relaxed)) + fraction.load()
    }
}
