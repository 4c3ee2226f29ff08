import Foundation
import Sightline
import SightlinePrometheus
import Testing

/// Checks the renderer's output with the reference tools: `promtool check metrics` and the
/// official Python parsers. promtool (2.42) lints only the Prometheus text format: it
/// rejects OpenMetrics input (the `\"` escape in HELP, exemplars), so OpenMetrics is checked
/// with the Python OpenMetrics parser here and by a real Prometheus scrape in
/// PrometheusScrapeTests.
@Suite struct ExpositionConformanceTests {
    let fixture: [MetricFamilySnapshot]

    init() throws {
        fixture = try ExpositionFixture.makeRegistry().collect()
    }

    /// A full scrape: the bus metric set with some values, plus process metrics.
    private func busScrape(_ format: ExpositionFormat) throws -> [UInt8] {
        let registry = MetricsRegistry()
        let metrics = try BusMetrics(registry: registry)
        metrics.published.labels("orders", "OrderPlaced", "high").increment(by: 2)
        metrics.processDuration.labels("sightline", "process", "orders", "billing", "")
            .observe(
                0.2,
                exemplar: Exemplar(
                    traceID: ExpositionFixture.traceID, spanID: ExpositionFixture.spanID,
                    value: 0.2))
        metrics.consumerLagSeconds.labels("orders", "billing").set(1.25)
        return MetricsEndpoint(registry: registry).render(format)
    }

    @Test func promtool_acceptsThePrometheusText() async throws {
        for exposition in [
            ExpositionRenderer(format: .prometheusText).render(fixture),
            try busScrape(.prometheusText),
        ] {
            let result = try await ChildProcess.run(
                "promtool", ["check", "metrics"], input: Data(exposition))

            #expect(result.status == 0, "promtool: \(result.standardOutput)\(result.standardError)")
        }
    }

    @Test func pythonTextParser_readsTheGoldenValues() async throws {
        let exposition = ExpositionRenderer(format: .prometheusText).render(fixture)

        let families = try await PythonExpositionParser.parse(exposition, openMetrics: false)

        try checkFixtureValues(families, bucketBound: "1")
    }

    @Test func pythonOpenMetricsParser_readsTheGoldenValuesAndExemplar() async throws {
        let exposition = ExpositionRenderer(format: .openMetrics).render(fixture)

        let families = try await PythonExpositionParser.parse(exposition, openMetrics: true)

        try checkFixtureValues(families, bucketBound: "1.0")
        let bucket = families.first { $0.name == "demo_latency_seconds" }?.samples.first
        #expect(
            bucket?.exemplar
                == ParsedSample.ParsedExemplar(
                    labels: [
                        "trace_id": "0af7651916cd43dd8448eb211c80319c",
                        "span_id": "b7ad6b7169203331",
                    ],
                    value: "0.0625", timestamp: "1700000000.5"))
    }

    @Test func pythonParsers_readAFullBusScrapeInBothFormats() async throws {
        let text = try await PythonExpositionParser.parse(
            try busScrape(.prometheusText), openMetrics: false)
        let openMetrics = try await PythonExpositionParser.parse(
            try busScrape(.openMetrics), openMetrics: true)

        for families in [text, openMetrics] {
            let published = families.first { $0.name == "sightline_messages_published" }
            #expect(
                published?.samples == [
                    ParsedSample(
                        name: "sightline_messages_published_total",
                        labels: [
                            "channel": "orders", "message_type": "OrderPlaced", "priority": "high",
                        ],
                        value: "2.0", exemplar: nil)
                ])
            let lag = families.first { $0.name == "sightline_consumer_lag_seconds" }
            #expect(lag?.samples.map(\.value) == ["1.25"])
            #expect(families.contains { $0.name == "process_resident_memory_bytes" })
            #expect(families.contains { $0.name == "process_cpu_seconds" })
        }
        let process = openMetrics.first { $0.name == "messaging_process_duration_seconds" }
        #expect(process?.samples.count == 17)
        #expect(process?.samples.compactMap(\.exemplar).map(\.value) == ["0.2"])
    }

    private func checkFixtureValues(_ families: [ParsedFamily], bucketBound: String) throws {
        #expect(
            families.map(\.name) == [
                "sightline_metrics_overflow", "demo_requests", "demo_cpu_seconds",
                "demo_temperature", "demo_limits", "demo_latency_seconds",
            ])
        let requests = try #require(families.first { $0.name == "demo_requests" })
        #expect(requests.help == "Requests \\ handled.\nSecond \"line\"")
        #expect(requests.samples.first?.labels == ["path": "a\\b\"c\nd"])
        #expect(requests.samples.first?.value == "3.0")
        #expect(families[2].samples.map(\.value) == ["1.5"])
        #expect(families[3].samples.map(\.value) == ["nan"])
        #expect(families[4].samples.map(\.value) == ["inf", "-inf"])

        let latency = families[5].samples
        #expect(
            latency.map(\.name) == [
                "demo_latency_seconds_bucket", "demo_latency_seconds_bucket",
                "demo_latency_seconds_bucket", "demo_latency_seconds_sum",
                "demo_latency_seconds_count",
            ])
        #expect(latency.map(\.value) == ["1.0", "2.0", "3.0", "3.0625", "3.0"])
        #expect(latency.compactMap { $0.labels["le"] } == ["0.1", bucketBound, "+Inf"])
    }
}
