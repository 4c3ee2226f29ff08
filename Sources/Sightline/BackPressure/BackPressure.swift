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
        monitor.start()
        return monitor
    }
}
