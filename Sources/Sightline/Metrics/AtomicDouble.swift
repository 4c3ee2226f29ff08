import Synchronization

/// A `Double` held as the bit pattern of an `Atomic<UInt64>`.
///
/// Stores and loads are single atomic operations; `add(_:)` is a compare-and-exchange loop
/// that retries only when another writer changed the value in between.
final class AtomicDouble: Sendable {
    private let bits: Atomic<UInt64>

    init(_ value: Double = 0) {
        bits = Atomic(value.bitPattern)
    }

    func load() -> Double {
        Double(bitPattern: bits.load(ordering: .relaxed))
    }

    func store(_ value: Double) {
        bits.store(value.bitPattern, ordering: .relaxed)
    }

    func add(_ delta: Double) {
        var current = bits.load(ordering: .relaxed)
        while true {
            let next = (Double(bitPattern: current) + delta).bitPattern
            let (exchanged, original) = bits.compareExchange(
                expected: current, desired: next, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}

/// A `UInt64` counter in a class, so that an array of them can be shared between threads.
final class AtomicCount: Sendable {
    private let storage = Atomic<UInt64>(0)

    init() {}

    func increment(by amount: UInt64 = 1) {
        storage.wrappingAdd(amount, ordering: .relaxed)
    }

    func load() -> UInt64 {
        storage.load(ordering: .relaxed)
    }
}
