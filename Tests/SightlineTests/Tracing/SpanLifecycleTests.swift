import Foundation
import Sightline
import SightlineTestKit
import Synchronization
import Testing

@Suite struct SpanLifecycleTests {
    /// 2026-01-01T00:00:00Z, the manual clock's default wall-clock origin.
    static let originNanos: UInt64 = 1_767_225_600_000_000_000

    let clock = ManualClock()
    let exporter = InMemorySpanExporter()
    let tracer: Tracer

    init() {
        var configuration = TracingConfiguration()
        configuration.sampler = .alwaysOn
        configuration.serviceName = "orders"
        tracer = Tracer(
            configuration: configuration, exporter: exporter, clock: clock, logger: .disabled)
    }

    private func flush() async {
        await tracer.forceFlush(deadline: .now + .seconds(10))
    }

    @Test func end_exportsAttributesEventsLinksStatusAndTimes() async throws {
        let linked = SpanContext(
            traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), flags: .sampled)
        let span = tracer.startSpan(
            "orders publish", kind: .producer, parent: nil,
            links: [SpanLinkData(context: linked, attributes: ["why": .string("creation")])],
            attributes: ["messaging.system": .string("sightline")])

        clock.advance(by: .milliseconds(1))
        span.setAttribute("messaging.message.id", .string("m-1"))
        span.setAttribute("sightline.attempt", .int(2))
        span.addEvent("retry scheduled", attributes: ["sightline.delay": .double(0.5)])
        span.addLink(SpanLinkData(context: linked))
        span.setStatus(.ok)
        clock.advance(by: .microseconds(1500))
        span.end()
        await flush()

        let data = try #require(exporter.spans.first)
        #expect(exporter.spans.count == 1)
        #expect(data.name == "orders publish")
        #expect(data.kind == .producer)
        #expect(data.context == span.context)
        #expect(data.parentSpanID == nil)
        #expect(data.startTimeUnixNano == Self.originNanos)
        #expect(data.endTimeUnixNano == Self.originNanos + 2_500_000)
        #expect(
            data.attributes == [
                "messaging.system": .string("sightline"), "messaging.message.id": .string("m-1"),
                "sightline.attempt": .int(2),
            ])
        #expect(
            data.events == [
                SpanEvent(
                    name: "retry scheduled", timeUnixNano: Self.originNanos + 1_000_000,
                    attributes: ["sightline.delay": .double(0.5)])
            ])
        #expect(
            data.links == [
                SpanLinkData(context: linked, attributes: ["why": .string("creation")]),
                SpanLinkData(context: linked),
            ])
        #expect(data.status == .ok)
        #expect(exporter.lastResource?.attributes["service.name"] == .string("orders"))
    }

    @Test func startSpan_withParent_sharesTraceAndRecordsParentID() async throws {
        let parent = tracer.startSpan("publish", kind: .producer, parent: nil)
        let child = tracer.startSpan("process", kind: .consumer, parent: parent.context)
        child.end()
        parent.end()
        await flush()

        let spans = exporter.spans
        #expect(spans.map(\.name) == ["process", "publish"])
        #expect(spans[0].context.traceID == parent.context.traceID)
        #expect(spans[0].parentSpanID == parent.context.spanID)
        #expect(spans[0].context.spanID != parent.context.spanID)
        #expect(spans[0].kind == .consumer)
        #expect(child.context.flags.isSampled)
        #expect(!child.context.isRemote)
    }

    @Test(arguments: [SpanKind.internal, .server, .client, .producer, .consumer])
    func end_keepsTheKind(_ kind: SpanKind) async {
        tracer.startSpan("k", kind: kind, parent: nil).end()
        await flush()

        #expect(exporter.spans.map(\.kind) == [kind])
    }

    @Test func startSpan_withRemoteParent_inheritsTraceStateAndOtherFlagBits() throws {
        let parent = try #require(
            TraceParent.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")
        ).makeSpanContext(traceState: TraceState.parse("rojo=1"))

        let span = tracer.startSpan("process", kind: .consumer, parent: parent)

        #expect(span.context.traceID.hex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(span.parentSpanID?.hex == "00f067aa0ba902b7")
        #expect(span.context.flags.rawValue == 0x03)
        #expect(span.context.traceState == "rojo=1")
    }

    @Test func recordError_setsErrorStatusAndErrorType() async throws {
        let span = tracer.startSpan("handle", kind: .consumer, parent: nil)
        span.recordError(type: "DecodingError", description: "field 'amount' is missing")
        span.end()
        await flush()

        let data = try #require(exporter.spans.first)
        #expect(data.status == .error(description: "field 'amount' is missing"))
        #expect(data.attributes["error.type"] == .string("DecodingError"))
    }

    @Test func setStatus_whenOk_isFinalAndUnsetIsIgnored() async throws {
        let first = tracer.startSpan("a", parent: nil)
        first.setStatus(.ok)
        first.setStatus(.error(description: "late"))
        first.end()
        let second = tracer.startSpan("b", parent: nil)
        second.setStatus(.error(description: "boom"))
        second.setStatus(.unset)
        second.end()
        await flush()

        #expect(exporter.spans.map(\.status) == [.ok, .error(description: "boom")])
    }

    @Test func end_whenCalledTwice_exportsOnceAndStopsRecording() async {
        let span = tracer.startSpan("once", parent: nil)
        #expect(span.isRecording)

        span.end()
        span.setAttribute("late", .bool(true))
        span.end()
        await flush()

        #expect(!span.isRecording)
        #expect(exporter.spans.count == 1)
        #expect(exporter.spans.first?.attributes["late"] == nil)
        #expect(tracer.statistics.spansStarted == 1)
        #expect(tracer.statistics.spansEnded == 1)
        #expect(tracer.statistics.exported == 1)
    }

    @Test func startSpan_whenNotSampled_isNonRecordingButPropagates() async {
        var configuration = TracingConfiguration()
        configuration.sampler = .alwaysOff
        let tracer = Tracer(
            configuration: configuration, exporter: exporter, clock: clock, logger: .disabled)

        let root = tracer.startSpan("root", parent: nil)
        let child = tracer.startSpan("child", parent: root.context)
        root.setAttribute("ignored", .bool(true))
        child.end()
        root.end()
        await tracer.forceFlush(deadline: .now + .seconds(10))

        #expect(!root.isRecording)
        #expect(root.context.isValid)
        #expect(!root.context.flags.isSampled)
        #expect(child.context.traceID == root.context.traceID)
        #expect(child.parentSpanID == root.context.spanID)
        #expect(exporter.spans.isEmpty)
        #expect(tracer.statistics.notSampled == 2)
        #expect(tracer.statistics.spansStarted == 0)
    }

    @Test func startSpan_whenSamplerSeesStartAttributes_canDecideOnThem() {
        struct AttributeSampler: Sampler {
            func shouldSample(
                parent: SpanContext?, traceID: TraceID, name: String, kind: SpanKind,
                attributes: SpanAttributes, links: [SpanLinkData]
            ) -> SamplingDecision {
                attributes["sample.me"] == .bool(true) ? .recordAndSample : .drop
            }
        }
        var configuration = TracingConfiguration()
        configuration.customSampler = AttributeSampler()
        let tracer = Tracer(
            configuration: configuration, exporter: exporter, clock: clock, logger: .disabled)

        let kept = tracer.startSpan("a", parent: nil, attributes: ["sample.me": .bool(true)])
        let dropped = tracer.startSpan("b", parent: nil)

        #expect(kept.isRecording)
        #expect(!dropped.isRecording)
    }

    @Test func setAttribute_beyondTheLimit_dropsNewKeys() async throws {
        var configuration = TracingConfiguration()
        configuration.maxAttributesPerSpan = 2
        configuration.maxEventsPerSpan = 1
        let tracer = Tracer(
            configuration: configuration, exporter: exporter, clock: clock, logger: .disabled)

        let span = tracer.startSpan("limited", parent: nil, attributes: ["a": .int(1)])
        span.setAttribute("b", .int(2))
        span.setAttribute("c", .int(3))
        span.setAttribute("a", .int(10))
        span.addEvent("first")
        span.addEvent("second")
        span.end()
        await tracer.forceFlush(deadline: .now + .seconds(10))

        let data = try #require(exporter.spans.first)
        #expect(data.attributes == ["a": .int(10), "b": .int(2)])
        #expect(data.events.map(\.name) == ["first"])
    }

    @Test func endTime_whenWallClockStepsBack_isStartPlusMonotonicElapsed() async throws {
        let stepping = SteppingClock()
        let tracer = Tracer(
            configuration: TracingConfiguration(), exporter: exporter, clock: stepping,
            logger: .disabled)

        let span = tracer.startSpan("timed", parent: nil)
        stepping.set(monotonic: .milliseconds(2), wallSeconds: 900)
        span.end()
        await tracer.forceFlush(deadline: .now + .seconds(10))

        let data = try #require(exporter.spans.first)
        #expect(data.startTimeUnixNano == 1_000_000_000_000)
        #expect(data.endTimeUnixNano == 1_000_002_000_000)
    }

    // MARK: - Disabled tracing and no exporter

    @Test func disabled_withValidParent_returnsTheParentsContextUnchanged() {
        let parent = SpanContext(
            traceID: TraceID(high: 5, low: 6), spanID: SpanID(7), flags: .sampled,
            traceState: "rojo=1", isRemote: true)

        let span = Tracer.disabled.startSpan("publish", kind: .producer, parent: parent)

        #expect(span.context == parent)
        #expect(!span.isRecording)
        #expect(Tracer.disabled.statistics == TracerStatistics())
    }

    @Test func disabled_withoutParent_returnsAnInvalidContext() {
        let span = Tracer.disabled.startSpan("publish", kind: .producer, parent: nil)

        #expect(!span.context.isValid)
        #expect(!span.isRecording)
    }

    @Test func noExporter_decidesSamplingButRecordsNothing() {
        let tracer = Tracer(
            configuration: TracingConfiguration(), exporter: nil, clock: clock, logger: .disabled)

        let span = tracer.startSpan("publish", parent: nil)

        #expect(span.context.isValid)
        #expect(span.context.flags.isSampled)
        #expect(!span.isRecording)
    }
}
