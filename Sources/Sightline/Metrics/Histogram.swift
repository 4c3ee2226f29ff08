import Synchronization

/// One histogram series: observations counted into fixed buckets, with their sum.
///
/// Obtain it once from ``HistogramFamily/labels(_:)`` and keep it. `observe` costs a binary
/// search over the bucket bounds, one atomic add and one compare-and-exchange loop. An
/// exemplar, when given, is stored under a lock private to its bucket, so that publishers
/// of other buckets and other series never wait on it.
public final class Histogram: Sendable {
    /// Upper bounds, ascending, without the implicit `+Inf`.
    let upperBounds: [Double]
    /// Per-bucket (not cumulative) counts; the last one is the `+Inf` bucket.
    private let counts: [AtomicCount]
    private let sum = AtomicDouble()
    private let exemplars: [ExemplarSlot]

    init(upperBounds: [Double]) {
        self.upperBounds = upperBounds
        counts = (0...upperBounds.count).map { _ in AtomicCount() }
        exemplars = (0...upperBounds.count).map { _ in ExemplarSlot() }
    }

    /// Records one observation. NaN is ignored (it belongs in no bucket).
    ///
    /// - Parameters:
    ///   - value: the observed value, in the family's base unit (seconds, bytes).
    ///   - exemplar: the trace that produced it; replaces the bucket's previous exemplar.
    public func observe(_ value: Double, exemplar: Exemplar? = nil) {
        guard !value.isNaN else { return }

        let index = bucketIndex(for: value)
        counts[index].increment()
        sum.add(value)

        if let exemplar {
            exemplars[index].latest.withLock { $0 = exemplar }
        }
    }

    /// Records the seconds of a `Duration`.
    public func observe(_ duration: Duration, exemplar: Exemplar? = nil) {
        observe(duration.seconds, exemplar: exemplar)
    }

    /// A consistent-enough copy for exposition: the count is the sum of the bucket counts
    /// read, so `_count` always equals the `+Inf` bucket; `_sum` may lag by the observations
    /// that were in progress during the read.
    func snapshot() -> HistogramSnapshot {
        var cumulative: [UInt64] = []
        cumulative.reserveCapacity(counts.count)
        var running: UInt64 = 0
        for count in counts {
            running &+= count.load()
            cumulative.append(running)
        }

        return HistogramSnapshot(
            upperBounds: upperBounds,
            cumulativeCounts: cumulative,
            sum: sum.load(),
            exemplars: exemplars.map { slot in slot.latest.withLock { $0 } }
        )
    }

    /// The index of the first bucket whose upper bound is at least `value`.
    private func bucketIndex(for value: Double) -> Int {
        var low = 0
        var high = upperBounds.count
        while low < high {
            let middle = (low + high) / 2
            if value <= upperBounds[middle] {
                high = middle
            } else {
                low = middle + 1
            }
        }
        return low
    }
}

/// The latest exemplar of one bucket, behind a lock that only this bucket's writers share.
final class ExemplarSlot: Sendable {
    let latest = Mutex<Exemplar?>(nil)
}
