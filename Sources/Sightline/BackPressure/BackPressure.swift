/// Entry points that wire back-pressure to a bus.
public enum BackPressure {
    /// Starts a ``LagMonitor`` that feeds `controller` with `bus`'s lag every tick.
    ///
    /// The bus consults the controller only if it was built with it as
    /// ``BusConfiguration/admission``; this call supplies the lag side. Call `stop()` on
    /// the returned monitor before shutting the bus down.
    ///
    /// - Parameter clock: the tick clock; nil uses the bus's clock.
    public static func start(
        bus: Bus, controller: BackPressureController, clock: (any BusClock)? = nil
    ) -> LagMonitor {
        let monitor = LagMonitor(
            source: { [weak bus] in bus?.lagReports() ?? [:] }, controller: controller,
            clock: clock ?? bus.clock)
        if let metrics = bus.metrics {
            installCollectHook(metrics: metrics, controller: controller)
        }
        monitor.start()
        return monitor
    }

    /// Publishes the controller's pressure per channel and admitted rate per priority at
    /// scrape time. A channel that is not regulated admits everything: its admitted rate
    /// reads as its offered rate.
    static func installCollectHook(metrics: BusMetrics, controller: BackPressureController) {
        metrics.registry.addCollectHook { [weak controller] in
            guard let statistics = controller?.statistics() else { return }
            for (channel, state) in statistics.channels {
                metrics.backPressurePressure.labels(channel).set(state.pressure)
                for priority in Priority.allCases {
                    let rate =
                        state.admittedRateByPriority[priority]
                        ?? state.offeredRate[priority] ?? 0
                    metrics.backPressureAdmittedRate.labels(channel, priority.rawValue).set(rate)
                }
            }
        }
    }
}
