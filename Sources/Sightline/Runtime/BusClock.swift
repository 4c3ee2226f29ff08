import Foundation

/// The source of time for everything in Sightline that waits or measures.
///
/// Production code uses ``SystemClock``; tests inject a manual clock and advance it, so that
/// no test waits on the wall clock.
public protocol BusClock: Sendable {
    /// Monotonic time since an arbitrary origin fixed for the clock's lifetime.
    func now() -> Duration

    /// Wall-clock time, for envelope creation times and span timestamps.
    func wallTime() -> Date

    /// Suspends for `duration` of this clock's time. Throws `CancellationError` when the
    /// calling task is cancelled.
    func sleep(for duration: Duration) async throws
}

extension BusClock {
    /// Wall-clock time in nanoseconds since the Unix epoch.
    public func unixNanos() -> UInt64 {
        let seconds = wallTime().timeIntervalSince1970
        return seconds <= 0 ? 0 : UInt64(seconds * 1_000_000_000)
    }
}

/// The real clock: `ContinuousClock` for monotonic time, `Date` for wall time.
public struct SystemClock: BusClock {
    private let origin = ContinuousClock.now

    public init() {}

    public func now() -> Duration { ContinuousClock.now - origin }

    public func wallTime() -> Date { Date() }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}

extension Duration {
    /// The duration in seconds as a `Double`, for metrics and JSON output.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds, saturating at `Int64.max`.
    public var nanoseconds: Int64 {
        let parts = components
        let (scaled, overflow) = parts.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return parts.seconds < 0 ? Int64.min : Int64.max }
        return scaled + parts.attoseconds / 1_000_000_000
    }
}
