import Foundation
import Sightline
import SightlineDemo
import SightlineOTLP
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
        if tracing.isEnabled, let exporter = try makeOTLPExporter(tracing, logger: logger) {
            setup.tracer = Tracer(configuration: tracing, exporter: exporter, logger: logger)
        } else if tracing.isEnabled && showTraces > 0 {
            // Only the traces to be drawn are recorded; the rest propagate unsampled.
            var drawn = tracing
            drawn.customSampler = FirstTracesSampler(limit: showTraces)
            let collector = TraceTreeCollector(traces: showTraces)
            setup.traceTrees = collector
            setup.tracer = Tracer(configuration: drawn, exporter: collector, logger: logger)
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

    /// The OTLP/HTTP exporter when an endpoint is configured; nil otherwise.
    static func makeOTLPExporter(_ tracing: TracingConfiguration, logger: Logger) throws
        -> (any SpanExporter)?
    {
        guard tracing.otlp.endpoint != nil else { return nil }
        return try OTLPHTTPExporter(
            configuration: OTLPExporterConfiguration(tracing.otlp), logger: logger)
    }
}
