import Foundation
import Sightline
import SightlineDemo
import SightlinePrometheus

/// The demo's tracer, metrics and /metrics server, set up from flags and the standard
/// `OTEL_*` environment variables, and torn down in order at the end of the run.
struct DemoObservability {
    var tracer: Tracer = .disabled
    var traceTrees: TraceTreeCollector?
    var metrics: BusMetrics?
    var server: MetricsServer?

    /// - Parameters:
    ///   - showTraces: how many traces to draw at the end when no OTLP endpoint is set.
    ///   - metricsPort: serve /metrics on this port (0 picks a free one); nil uses
    ///     `OTEL_EXPORTER_PROMETHEUS_PORT` when set and serves nothing otherwise.
    static func make(
        environment: [String: String], showTraces: Int, metricsPort: Int?, logger: Logger
    ) throws -> DemoObservability {
        var setup = DemoObservability()

        let tracing = TracingConfiguration.fromEnvironment(environment, logger: logger)
        if tracing.isEnabled, let exporter = makeOTLPExporter(tracing, logger: logger) {
            setup.tracer = Tracer(configuration: tracing, exporter: exporter, logger: logger)
        } else if tracing.isEnabled && showTraces > 0 {
            let collector = TraceTreeCollector(traces: showTraces)
            setup.traceTrees = collector
            setup.tracer = Tracer(configuration: tracing, exporter: collector, logger: logger)
        }

        var serverConfiguration = MetricsServerConfiguration.fromEnvironment(
            environment, logger: logger)
        let portFromEnvironment = environment[MetricsServerConfiguration.portVariable] != nil
        if metricsPort != nil || portFromEnvironment {
            if let metricsPort { serverConfiguration.port = metricsPort }
            let registry = MetricsRegistry(logger: logger)
            setup.metrics = try BusMetrics(registry: registry)
            let server = MetricsServer(
                registry: registry, configuration: serverConfiguration, logger: logger)
            try server.start()
            setup.server = server
        }
        return setup
    }

    /// Exports what is still queued, giving up after a few seconds.
    func flush() async {
        await tracer.shutdown(deadline: .now + .seconds(10))
    }

    // Not yet: the OTLP/HTTP exporter is not part of this build; with an endpoint set the
    // demo warns and falls back to the trace trees.
    static func makeOTLPExporter(_ tracing: TracingConfiguration, logger: Logger)
        -> (any SpanExporter)?
    {
        if tracing.otlp.endpoint != nil {
            logger.warning("OTLP export is not available in this build; spans are not exported")
        }
        return nil
    }
}
