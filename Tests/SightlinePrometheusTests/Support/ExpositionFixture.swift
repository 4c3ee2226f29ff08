import Foundation
import Sightline

/// A registry with one of everything the exposition formats must get right: escapes in
/// labels and help, NaN and infinities, fractional counters, buckets with an exemplar.
enum ExpositionFixture {
    static let traceID = TraceID(high: 0x0af7_6519_16cd_43dd, low: 0x8448_eb21_1c80_319c)
    static let spanID = SpanID(0xb7ad_6b71_6920_3331)

    static func makeRegistry() throws -> MetricsRegistry {
        let registry = MetricsRegistry()

        let requests = try registry.counter(
            name: "demo_requests_total", help: "Requests \\ handled.\nSecond \"line\"",
            labelNames: ["path"])
        requests.labels("a\\b\"c\nd").increment(by: 3)

        let cpu = try registry.counter(name: "demo_cpu_seconds_total", help: "CPU time.")
        cpu.labels().add(1.5)

        let temperature = try registry.gauge(name: "demo_temperature", help: "A gauge.")
        temperature.labels().set(.nan)

        let limits = try registry.gauge(
            name: "demo_limits", help: "Limits.", labelNames: ["kind"])
        limits.labels("upper").set(.infinity)
        limits.labels("lower").set(-.infinity)

        let latency = try registry.histogram(
            name: "demo_latency_seconds", help: "Latency.", labelNames: ["op"],
            buckets: [0.1, 1])
        let exemplar = Exemplar(
            traceID: traceID, spanID: spanID, value: 0.0625,
            timestamp: Date(timeIntervalSince1970: 1_700_000_000.5))
        let read = latency.labels("read")
        read.observe(0.0625, exemplar: exemplar)
        read.observe(0.5)
        read.observe(2.5)
        return registry
    }

    static let prometheusText = """
        # HELP sightline_metrics_overflow_total Label sets folded into a family's overflow \
        series by the cardinality limit.
        # TYPE sightline_metrics_overflow_total counter
        # HELP demo_requests_total Requests \\\\ handled.\\nSecond "line"
        # TYPE demo_requests_total counter
        demo_requests_total{path="a\\\\b\\"c\\nd"} 3
        # HELP demo_cpu_seconds_total CPU time.
        # TYPE demo_cpu_seconds_total counter
        demo_cpu_seconds_total 1.5
        # HELP demo_temperature A gauge.
        # TYPE demo_temperature gauge
        demo_temperature NaN
        # HELP demo_limits Limits.
        # TYPE demo_limits gauge
        demo_limits{kind="upper"} +Inf
        demo_limits{kind="lower"} -Inf
        # HELP demo_latency_seconds Latency.
        # TYPE demo_latency_seconds histogram
        demo_latency_seconds_bucket{op="read",le="0.1"} 1
        demo_latency_seconds_bucket{op="read",le="1"} 2
        demo_latency_seconds_bucket{op="read",le="+Inf"} 3
        demo_latency_seconds_sum{op="read"} 3.0625
        demo_latency_seconds_count{op="read"} 3

        """

    static let openMetrics = """
        # HELP sightline_metrics_overflow Label sets folded into a family's overflow series \
        by the cardinality limit.
        # TYPE sightline_metrics_overflow counter
        # HELP demo_requests Requests \\\\ handled.\\nSecond \\"line\\"
        # TYPE demo_requests counter
        demo_requests_total{path="a\\\\b\\"c\\nd"} 3
        # HELP demo_cpu_seconds CPU time.
        # TYPE demo_cpu_seconds counter
        demo_cpu_seconds_total 1.5
        # HELP demo_temperature A gauge.
        # TYPE demo_temperature gauge
        demo_temperature NaN
        # HELP demo_limits Limits.
        # TYPE demo_limits gauge
        demo_limits{kind="upper"} +Inf
        demo_limits{kind="lower"} -Inf
        # HELP demo_latency_seconds Latency.
        # TYPE demo_latency_seconds histogram
        demo_latency_seconds_bucket{op="read",le="0.1"} 1 # \
        {trace_id="0af7651916cd43dd8448eb211c80319c",span_id="b7ad6b7169203331"} \
        0.0625 1700000000.5
        demo_latency_seconds_bucket{op="read",le="1.0"} 2
        demo_latency_seconds_bucket{op="read",le="+Inf"} 3
        demo_latency_seconds_sum{op="read"} 3.0625
        demo_latency_seconds_count{op="read"} 3
        # EOF

        """
}
