/// Turns successive snapshots of queue lag into ``LagReport``s with a smoothed drain rate.
///
/// The drain rate is the rate of change of each group's `settledTotal`, smoothed with an
/// exponentially weighted moving average. Pure value type: the lag monitor and the
/// simulation both use it.
public struct LagReportBuilder: Sendable {
    private struct Previous {
        var settledTotal: UInt64
        var at: Duration
        var rate: Double?
    }

    /// Weight of the newest sample in the drain rate's moving average, in `(0, 1]`.
    public var smoothing: Double
    private var previous: [GroupKey: Previous] = [:]

    public init(smoothing: Double = 0.3) {
        self.smoothing = min(1, max(0.01, smoothing))
    }

    /// Reports for every group in `lags`, sorted by channel and group.
    public mutating func reports(from lags: [GroupKey: QueueLag], at now: Duration)
        -> [LagReport]
    {
        var reports: [LagReport] = []
        reports.reserveCapacity(lags.count)
        for key in lags.keys.sorted() {
            let lag = lags[key]!
            let rate = updateRate(for: key, settledTotal: lag.settledTotal, at: now)
            reports.append(
                LagReport(
                    channel: key.channel, group: key.group, waiting: lag.waiting,
                    oldestAge: lag.oldestAge, drainRate: rate, queuedBytes: lag.queuedBytes,
                    at: now))
        }

        // Groups that disappeared are forgotten, so the table stays as small as the bus.
        for key in previous.keys where lags[key] == nil { previous[key] = nil }
        return reports
    }

    private mutating func updateRate(for key: GroupKey, settledTotal: UInt64, at now: Duration)
        -> Double
    {
        guard let last = previous[key] else {
            previous[key] = Previous(settledTotal: settledTotal, at: now, rate: nil)
            return 0
        }
        let elapsed = (now - last.at).seconds

        // Samples closer than a millisecond say little about a rate; keep the last one.
        guard elapsed >= 0.001 else { return last.rate ?? 0 }

        let settled = settledTotal >= last.settledTotal ? settledTotal - last.settledTotal : 0
        let instant = Double(settled) / elapsed
        let rate = last.rate.map { smoothing * instant + (1 - smoothing) * $0 } ?? instant
        previous[key] = Previous(settledTotal: settledTotal, at: now, rate: rate)
        return rate
    }
}
