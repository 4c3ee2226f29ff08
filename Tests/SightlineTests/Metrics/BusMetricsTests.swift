import Testing

@testable import Sightline

@Suite struct BusMetricsTests {
    @Test func init_registersEveryDefinitionAndBuildInfo() throws {
        let registry = MetricsRegistry()

        let metrics = try BusMetrics(registry: registry)
        metrics.published.labels("orders", "OrderPlaced", "normal").increment()

        let names = registry.collect().map(\.name)
        #expect(names == ["sightline_metrics_overflow_total"] + BusMetrics.definitions.map(\.name))
        #expect(names.count == 32)
        let buildInfo = registry.collect().first { $0.name == "sightline_build_info" }
        #expect(
            buildInfo?.series == [
                MetricSeriesSnapshot(labelValues: [SightlineVersion.current], value: .scalar(1))
            ])
    }

    @Test func init_twiceOnOneRegistry_sharesTheFamilies() throws {
        let registry = MetricsRegistry()

        let first = try BusMetrics(registry: registry)
        let second = try BusMetrics(registry: registry)

        #expect(first.retries === second.retries)
    }

    @Test func init_whenANameIsTakenWithAnotherShape_throws() throws {
        let registry = MetricsRegistry()
        _ = try registry.gauge(name: "sightline_retries_total", help: "Not a counter.")

        let error = #expect(throws: MetricsRegistrationError.self) {
            try BusMetrics(registry: registry)
        }
        #expect(error?.metricName == "sightline_retries_total")
    }

    @Test func durationHistograms_useTheSemanticConventionBuckets() throws {
        let metrics = try BusMetrics(registry: MetricsRegistry())

        #expect(
            metrics.processDuration.buckets == [
                0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
            ])
        #expect(metrics.clientOperationDuration.buckets == metrics.processDuration.buckets)
        #expect(
            metrics.processDuration.labelNames == [
                "messaging_system", "messaging_operation_name", "messaging_destination_name",
                "messaging_consumer_group_name", "error_type",
            ])
    }

    @Test(arguments: [(0, "1"), (1, "1"), (9, "9"), (10, "10+"), (250, "10+")])
    func attemptLabel_isBounded(attempt: Int, label: String) {
        #expect(BusMetrics.attemptLabel(attempt) == label)
    }
}
