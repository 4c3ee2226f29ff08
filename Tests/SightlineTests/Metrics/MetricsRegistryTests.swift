import Foundation
import Testing

@testable import Sightline

@Suite struct MetricsRegistryTests {
    let registry = MetricsRegistry(cardinalityLimit: 3)

    private func family(_ name: String) -> MetricFamilySnapshot? {
        registry.collect().first { $0.name == name }
    }

    private func scalar(_ name: String, _ labelValues: [String]) -> Double? {
        let series = family(name)?.series.first { $0.labelValues == labelValues }
        guard case .scalar(let value)? = series?.value else { return nil }
        return value
    }

    // MARK: Counters and gauges

    @Test func counter_whenIncrementedAndAdded_reportsTheTotal() throws {
        let family = try registry.counter(
            name: "jobs_total", help: "Jobs.", labelNames: ["queue"])

        family.labels("mail").increment()
        family.labels("mail").increment(by: 4)
        family.labels("mail").add(0.5)
        family.labels("print").increment(by: 2)

        #expect(scalar("jobs_total", ["mail"]) == 5.5)
        #expect(scalar("jobs_total", ["print"]) == 2)
        #expect(family.labels("mail") === family.labels("mail"))
    }

    @Test func counter_whenGivenNegativeOrNaN_ignoresIt() throws {
        let counter = try registry.counter(name: "ticks_total", help: "Ticks.").labels()

        counter.increment(by: 3)
        counter.increment(by: -2)
        counter.add(-1.5)
        counter.add(.nan)

        #expect(counter.value == 3)
    }

    @Test func gauge_whenSetAndAdded_reportsTheValue() throws {
        let gauge = try registry.gauge(name: "depth", help: "Depth.").labels()

        gauge.set(10)
        gauge.add(-2.5)
        gauge.increment()
        gauge.decrement()
        gauge.decrement()

        #expect(gauge.value == 6.5)
        #expect(scalar("depth", []) == 6.5)
    }

    @Test func collect_runsHooksAndGaugeFunctionsFirst() throws {
        let gauge = try registry.gauge(name: "queue_depth", help: "Depth.", labelNames: ["q"])
        registry.addCollectHook { gauge.labels("a").set(7) }
        try registry.gaugeFunction(name: "answer", help: "The answer.") { 42 }

        #expect(scalar("queue_depth", ["a"]) == 7)
        #expect(scalar("answer", []) == 42)
    }

    @Test func collect_listsFamiliesInRegistrationOrder() throws {
        _ = try registry.gauge(name: "b_gauge", help: "B.")
        _ = try registry.counter(name: "a_total", help: "A.")

        #expect(
            registry.collect().map(\.name) == [
                "sightline_metrics_overflow_total", "b_gauge", "a_total",
            ])
    }

    // MARK: Histograms

    @Test func histogram_whenObserved_countsCumulativeBucketsSumAndCount() throws {
        let histogram = try registry.histogram(
            name: "latency_seconds", help: "Latency.", buckets: [0.1, 1, .infinity]
        ).labels()

        histogram.observe(0.0625)
        histogram.observe(0.1)
        histogram.observe(0.5)
        histogram.observe(4)
        histogram.observe(.nan)

        let snapshot = histogram.snapshot()
        #expect(snapshot.upperBounds == [0.1, 1])
        #expect(snapshot.cumulativeCounts == [2, 3, 4])
        #expect(snapshot.count == 4)
        #expect(snapshot.sum == 4.6625)
    }

    @Test func histogram_whenObservedWithExemplars_keepsTheLatestPerBucket() throws {
        let histogram = try registry.histogram(
            name: "process_seconds", help: "Processing.", buckets: [0.1, 1]
        ).labels()
        let first = Exemplar(
            traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), value: 0.05,
            timestamp: Date(timeIntervalSince1970: 1_700_000_000))
        let second = Exemplar(traceID: TraceID(high: 4, low: 5), spanID: SpanID(6), value: 0.07)
        let slow = Exemplar(traceID: TraceID(high: 7, low: 8), spanID: SpanID(9), value: 3)

        histogram.observe(0.05, exemplar: first)
        histogram.observe(0.07, exemplar: second)
        histogram.observe(3, exemplar: slow)

        #expect(histogram.snapshot().exemplars == [second, nil, slow])
    }

    // MARK: Cardinality

    @Test func labels_whenBeyondTheLimit_foldIntoOverflowAndCountIt() throws {
        let family = try registry.counter(
            name: "requests_total", help: "Requests.", labelNames: ["user", "path"])

        for user in ["a", "b", "c", "d", "e"] {
            family.labels(user, "/").increment()
        }
        family.labels("a", "/").increment()

        let series = try #require(self.family("requests_total")).series
        #expect(
            series.map(\.labelValues) == [
                ["a", "/"], ["b", "/"], ["c", "/"], ["__overflow__", "__overflow__"],
            ])
        #expect(scalar("requests_total", ["a", "/"]) == 2)
        #expect(scalar("requests_total", ["__overflow__", "__overflow__"]) == 2)
        #expect(scalar("sightline_metrics_overflow_total", ["requests_total"]) == 2)
    }

    @Test func labels_whenArityIsWrong_recordsIntoOverflowAndWarns() throws {
        let sink = CollectingLogSink()
        let registry = MetricsRegistry(logger: Logger(sink: sink))
        let family = try registry.counter(
            name: "sent_total", help: "Sent.", labelNames: ["channel"])

        family.labels("orders", "extra").increment()

        let overflow = registry.collect().first { $0.name == "sent_total" }?.series
        #expect(overflow?.map(\.labelValues) == [["__overflow__"]])
        #expect(sink.collected.map(\.level) == [.warning])
        #expect(sink.collected.first?.metadata[LogKey.metric] == "sent_total")
    }

    // MARK: Concurrency

    @Test func increments_fromManyTasks_sumExactly() async throws {
        let counter = try registry.counter(name: "hits_total", help: "Hits.").labels()
        let gauge = try registry.gauge(name: "level", help: "Level.").labels()
        let histogram = try registry.histogram(
            name: "size_bytes", help: "Size.", buckets: [10]
        ).labels()

        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    for _ in 0..<10_000 {
                        counter.increment()
                        gauge.add(0.5)
                        histogram.observe(1)
                    }
                }
            }
        }

        #expect(counter.value == 160_000)
        #expect(gauge.value == 80_000)
        #expect(histogram.snapshot().count == 160_000)
        #expect(histogram.snapshot().sum == 160_000)
    }

    // MARK: Registration

    @Test func register_whenSameShapeTwice_returnsTheSameFamily() throws {
        let first = try registry.counter(name: "a_total", help: "A.", labelNames: ["x"])
        let second = try registry.counter(name: "a_total", help: "A.", labelNames: ["x"])

        #expect(first === second)
    }

    @Test func register_whenShapeConflicts_throwsConflict() throws {
        _ = try registry.counter(name: "a_total", help: "A.", labelNames: ["x"])

        #expect(throws: MetricsRegistrationError.self) {
            try registry.gauge(name: "a_total", help: "A.")
        }
        let error = #expect(throws: MetricsRegistrationError.self) {
            try registry.counter(name: "a_total", help: "A.", labelNames: ["y"])
        }
        #expect(error?.code == .conflictingRegistration)
        #expect(error?.metricName == "a_total")
    }

    @Test(arguments: [
        ("9lives_total", [String](), MetricsRegistrationError.Code.invalidMetricName),
        ("has space_total", [], .invalidMetricName),
        ("requests", [], .missingTotalSuffix),
        ("ok_total", ["1x"], .invalidLabelName),
        ("ok_total", ["__name"], .invalidLabelName),
        ("ok_total", ["a-b"], .invalidLabelName),
        ("ok_total", ["a", "a"], .duplicateLabelName),
    ])
    func counter_whenNamesAreInvalid_throws(
        name: String, labels: [String], code: MetricsRegistrationError.Code
    ) {
        let error = #expect(throws: MetricsRegistrationError.self) {
            try registry.counter(name: name, help: "x", labelNames: labels)
        }
        #expect(error?.code == code)
    }

    @Test func histogram_whenBucketsAreInvalidOrLeIsALabel_throws() {
        let unsorted = #expect(throws: MetricsRegistrationError.self) {
            try registry.histogram(name: "h", help: "x", buckets: [1, 0.5])
        }
        let notFinite = #expect(throws: MetricsRegistrationError.self) {
            try registry.histogram(name: "h", help: "x", buckets: [.nan])
        }
        let reserved = #expect(throws: MetricsRegistrationError.self) {
            try registry.histogram(name: "h", help: "x", labelNames: ["le"], buckets: [1])
        }

        #expect(unsorted?.code == .invalidBuckets)
        #expect(notFinite?.code == .invalidBuckets)
        #expect(reserved?.code == .reservedLabelName)
    }
}

@Suite struct MetricsRegistryOverflowEdgeTests {
    @Test func labels_whenFamilyHasNoLabelsAndValuesAreGiven_usesTheOneSeries() throws {
        let registry = MetricsRegistry()
        let family = try registry.gauge(name: "depth", help: "Depth.")

        family.labels("stray").set(3)
        family.labels().add(1)

        let series = registry.collect().first { $0.name == "depth" }?.series
        #expect(series == [MetricSeriesSnapshot(labelValues: [], value: .scalar(4))])
    }

    @Test func labels_whenValuesSpellTheOverflowSeries_shareIt() throws {
        let registry = MetricsRegistry(cardinalityLimit: 1)
        let family = try registry.counter(name: "c_total", help: "C.", labelNames: ["k"])

        family.labels("a").increment()
        family.labels("b").increment()
        family.labels("__overflow__").increment()

        let series = registry.collect().first { $0.name == "c_total" }?.series
        #expect(series?.map(\.labelValues) == [["a"], ["__overflow__"]])
        #expect(series?.last?.value == .scalar(2))
    }
}
