import Foundation
import Sightline
import SightlineTestKit
import Testing

/// A publisher whose PRODUCER span finds the span queue nearly full waits for room, and the
/// wait shows on /metrics.
///
/// The tracer's queue holds 8 spans in batches of 4, so publishers wait from 6 queued spans
/// until exports have drained the queue to 4.
@Suite struct BusTracingBackPressureTests {
    let clock = ManualClock()
    let exporter = GatedSpanExporter()
    let registry = MetricsRegistry()

    private func makeTracer() -> Tracer {
        var configuration = TracingConfiguration()
        configuration.sampler = .alwaysOn
        configuration.maxQueueSize = 8
        configuration.maxExportBatchSize = 4
        configuration.maxConcurrentExports = 1
        configuration.scheduleDelay = .seconds(60)
        configuration.exportTimeout = .seconds(600)
        configuration.maxQueueWait = .seconds(1)
        return Tracer(
            configuration: configuration, exporter: exporter, clock: clock, logger: .disabled)
    }

    private func counter(_ name: String) -> Double? {
        let series = registry.collect().first { $0.name == name }?.series.first
        guard case .scalar(let value)? = series?.value else { return nil }
        return value
    }

    @Test func publish_whenTheSpanQueueIsNearlyFull_waitsForRoomAndCountsTheWait() async throws {
        let tracer = makeTracer()
        let bus = Bus(
            configuration: BusConfiguration(
                logger: .disabled, tracer: tracer, metrics: try BusMetrics(registry: registry)))
        // Four spans go out in an export the exporter holds; six more fill the queue to its
        // high-water mark.
        for index in 0..<4 { tracer.startSpan("held \(index)", parent: nil).end() }
        #expect(await exporter.waitForExportCalls(1))
        for index in 0..<6 { tracer.startSpan("queued \(index)", parent: nil).end() }

        let publisher = Task {
            try await bus.publish(OrderPlaced(orderID: 1, customer: "c", amount: 1))
        }
        var waited = false
        for _ in 0..<1_000_000 where !waited {
            waited = tracer.statistics.throttled == 1
            await Task.yield()
        }
        #expect(waited)

        exporter.open()
        try await publisher.value
        #expect(counter("sightline_exporter_producer_waits_total") == 1)
        #expect(counter("sightline_exporter_producer_wait_timeouts_total") == 0)
        #expect(counter("sightline_exporter_spans_dropped_total") == 0)
        _ = await bus.shutdown(deadline: .seconds(5))
        await tracer.shutdown(deadline: .now + .seconds(30))
    }
}
