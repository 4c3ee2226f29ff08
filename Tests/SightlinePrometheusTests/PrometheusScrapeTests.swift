import Foundation
import Sightline
import SightlinePrometheus
import Testing

/// A real Prometheus scrapes a MetricsServer serving the bus metric set. Prometheus 2.42
/// asks for OpenMetrics first, so a stored exemplar also shows that it parsed our
/// OpenMetrics output.
@Suite struct PrometheusScrapeTests {
    @Test func prometheus_scrapesBusMetricsAndExemplars() async throws {
        let registry = MetricsRegistry()
        let metrics = try BusMetrics(registry: registry)
        metrics.published.labels("orders", "OrderPlaced", "high").increment(by: 7)
        metrics.processDuration.labels("sightline", "process", "orders", "billing", "")
            .observe(
                0.2,
                exemplar: Exemplar(
                    traceID: ExpositionFixture.traceID, spanID: ExpositionFixture.spanID,
                    value: 0.2, timestamp: Date()))
        let server = MetricsServer(
            registry: registry,
            configuration: MetricsServerConfiguration(host: "127.0.0.1", port: 0))
        try server.start()
        defer { server.stop() }
        let port = try #require(server.boundPort)

        let prometheus = try await PrometheusServer.start(scraping: "127.0.0.1:\(port)")
        do {
            let published = try await prometheus.waitForSamples(
                #"sightline_messages_published_total{channel="orders"}"#)
            let up = try await prometheus.query(#"up{job="sightline"}"#)
            let exemplars = try await prometheus.exemplars(
                "messaging_process_duration_seconds_bucket")
            let processMemory = try await prometheus.query("process_resident_memory_bytes")

            #expect(published.map(\.value) == ["7"])
            #expect(published.first?.labels["priority"] == "high")
            #expect(published.first?.labels["message_type"] == "OrderPlaced")
            #expect(up.map(\.value) == ["1"])
            #expect(
                exemplars.map(\.labels) == [
                    [
                        "trace_id": "0af7651916cd43dd8448eb211c80319c",
                        "span_id": "b7ad6b7169203331",
                    ]
                ])
            #expect(exemplars.first?.seriesLabels["le"] == "0.25")
            #expect(processMemory.count == 1)
        } catch {
            await prometheus.stop()
            throw error
        }
        await prometheus.stop()
    }
}
