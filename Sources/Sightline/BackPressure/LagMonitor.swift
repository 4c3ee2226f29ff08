import Synchronization

/// Reads subscriber groups' lag on a fixed tick and feeds it to a back-pressure controller.
///
/// Each tick (the controller policy's `tick`, re-read every time so a reloaded policy takes
/// effect) the monitor reads the lag source, builds ``LagReport``s with smoothed drain rates
/// and calls ``BackPressureController/ingest(_:at:)``. ``sample()`` does the same on demand.
/// Stop it with ``stop()``; it holds no other resources.
public final class LagMonitor: Sendable {
    private struct State {
        var builder = LagReportBuilder()
        var latest: [LagReport] = []
        var loop: Task<Void, Never>?
    }

    private let source: @Sendable () -> [GroupKey: QueueLag]
    private let controller: BackPressureController
    private let clock: any BusClock
    private let state = Mutex(State())

    /// - Parameters:
    ///   - source: the lag of every group right now, such as ``Bus/lagReports()``.
    ///   - controller: receives the reports.
    ///   - clock: times the ticks and stamps the reports.
    public init(
        source: @escaping @Sendable () -> [GroupKey: QueueLag],
        controller: BackPressureController, clock: any BusClock
    ) {
        self.source = source
        self.controller = controller
        self.clock = clock
    }

    /// The reports of the last tick or sample.
    public var latestReports: [LagReport] { state.withLock { $0.latest } }

    /// Reads the lag now, feeds the controller, and returns the reports.
    @discardableResult
    public func sample() -> [LagReport] {
        let lags = source()
        let now = clock.now()
        let reports = state.withLock { state in
            state.latest = state.builder.reports(from: lags, at: now)
            return state.latest
        }
        controller.ingest(reports, at: now)
        return reports
    }

    /// Takes a first sample at once (so that the first tick already has a drain rate), then
    /// samples every tick. Calling it again while running does nothing.
    public func start() {
        let isNew = state.withLock { state -> Bool in
            guard state.loop == nil else { return false }
            state.loop = Task { [self] in
                while !Task.isCancelled {
                    do {
                        try await clock.sleep(for: controller.policy.tick)
                    } catch {
                        return
                    }
                    sample()
                }
            }
            return true
        }
        if isNew { sample() }
    }

    /// Stops ticking; the controller keeps its last state (and freezes growth once it
    /// notices reports stopped, if anything else still feeds it).
    public func stop() {
        let loop = state.withLock { state in
            defer { state.loop = nil }
            return state.loop
        }
        loop?.cancel()
    }
}
