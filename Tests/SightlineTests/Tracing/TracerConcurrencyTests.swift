import Sightline
import SightlineTestKit
import Testing

@Suite struct TracerConcurrencyTests {
    @Test func concurrentSpans_areAllAccountedFor() async {
        let exporter = InMemorySpanExporter(capacity: 100_000)
        var configuration = TracingConfiguration()
        configuration.sampler = .alwaysOn
        configuration.maxQueueSize = 64
        configuration.maxExportBatchSize = 16
        let tracer = Tracer(
            configuration: configuration, exporter: exporter, clock: ManualClock(),
            logger: .disabled)

        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for index in 0..<500 {
                        let span = tracer.startSpan("w\(worker)-\(index)", parent: nil)
                        span.setAttribute("index", .int(Int64(index)))
                        span.end()
                    }
                }
            }
        }
        await tracer.shutdown(deadline: .now + .seconds(30))

        let statistics = tracer.statistics
        #expect(statistics.spansStarted == 4000)
        #expect(statistics.spansEnded == 4000)
        #expect(statistics.exported + statistics.dropped == 4000)
        #expect(statistics.exported == exporter.spans.count)
        #expect(Set(exporter.spans.map(\.context.spanID)).count == exporter.spans.count)
        #expect(statistics.queueLength == 0)
        #expect(statistics.failed == 0)
    }

    @Test func fromEnvironment_whenSdkDisabled_tracerPassesContextThrough() {
        let configuration = TracingConfiguration.fromEnvironment(
            ["OTEL_SDK_DISABLED": "true"], logger: .disabled)
        let tracer = Tracer(
            configuration: configuration, exporter: InMemorySpanExporter(), logger: .disabled)
        let parent = SpanContext(
            traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), flags: TraceFlags())

        let span = tracer.startSpan("publish", kind: .producer, parent: parent)

        #expect(!tracer.isEnabled)
        #expect(span.context == parent)
        #expect(!span.isRecording)
    }
}
