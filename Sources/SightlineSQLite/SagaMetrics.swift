import Sightline

/// Saga metrics, registered on a ``MetricsRegistry`` (the bus's, so one scrape shows all):
/// `sightline_sagas_started_total`, `sightline_sagas_completed_total`,
/// `sightline_sagas_compensated_total`, `sightline_sagas_timed_out_total` (each labelled by
/// `saga`) and `sightline_saga_duration_seconds` (labelled by `saga` and `outcome`,
/// `completed` or `compensated`), from start to the last transition.
public final class SagaMetrics: Sendable {
    let started: CounterFamily
    let completed: CounterFamily
    let compensated: CounterFamily
    let timedOut: CounterFamily
    let duration: HistogramFamily

    /// - Throws: ``MetricsRegistrationError`` when a family of the same name is registered
    ///   with another type or labels.
    public init(registry: MetricsRegistry) throws {
        started = try registry.counter(
            name: "sightline_sagas_started_total", help: "Saga instances started.",
            labelNames: ["saga"])
        completed = try registry.counter(
            name: "sightline_sagas_completed_total",
            help: "Saga instances whose every step completed.", labelNames: ["saga"])
        compensated = try registry.counter(
            name: "sightline_sagas_compensated_total",
            help: "Saga instances that issued their compensations.", labelNames: ["saga"])
        timedOut = try registry.counter(
            name: "sightline_sagas_timed_out_total",
            help: "Saga instances whose current step timed out.", labelNames: ["saga"])
        duration = try registry.histogram(
            name: "sightline_saga_duration_seconds",
            help: "Time from a saga's start to its completion or compensation.",
            labelNames: ["saga", "outcome"],
            buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600])
    }
}
