import Sightline
import SightlineTestKit
import Synchronization
import Testing

/// Back-pressure from the span queue: `Span.endWaitingForRoom()` and
/// `Tracer.waitForQueueRoom()` against a gated exporter and a manual clock.
///
/// Every tracer here has a queue of 8 and batches of 4, so producers wait from 6 queued
/// spans (three quarters) until exports drain the queue to 4 (half).
@Suite struct QueueBackPressureTests {
    let clock = ManualClock()
    let exporter = GatedSpanExporter()
    let sink = CollectingLogSink()

    private func makeTracer(maxQueueWait: Duration = .seconds(1)) -> Tracer {
        var configuration = TracingConfiguration()
        configuration.sampler = .alwaysOn
        configuration.maxQueueSize = 8
        configuration.maxExportBatchSize = 4
        configuration.maxConcurrentExports = 1
        configuration.scheduleDelay = .seconds(60)
        configuration.exportTimeout = .seconds(600)
        configuration.maxQueueWait = maxQueueWait
        return Tracer(
            configuration: configuration, exporter: exporter, clock: clock,
            logger: Logger(sink: sink))
    }

    private func endSpans(_ names: [String], on tracer: Tracer) {
        for name in names { tracer.startSpan(name, parent: nil).end() }
    }

    private func endSpansWaiting(_ names: [String], on tracer: Tracer) async {
        for name in names { await tracer.startSpan(name, parent: nil).endWaitingForRoom() }
    }

    /// Yields until `throttled` reaches `count`; false if it never does.
    private func waitForThrottled(_ count: Int, on tracer: Tracer) async -> Bool {
        for _ in 0..<1_000_000 {
            if tracer.statistics.throttled >= count { return true }
            await Task.yield()
        }
        return false
    }

    @Test func endWaitingForRoom_belowHighWaterMark_queuesWithoutWaiting() async {
        let tracer = makeTracer()

        endSpans(["a", "b", "c", "d"], on: tracer)
        #expect(await exporter.waitForExportCalls(1))
        await endSpansWaiting(["e", "f", "g", "h", "i", "j"], on: tracer)

        let statistics = tracer.statistics
        #expect(statistics.queueLength == 6)
        #expect(statistics.throttled == 0)
        #expect(statistics.dropped == 0)
        exporter.open()
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func endWaitingForRoom_atHighWaterMark_waitsUntilDrainedThenQueuesInOrder() async {
        let tracer = makeTracer()
        endSpans(["a", "b", "c", "d"], on: tracer)
        #expect(await exporter.waitForExportCalls(1))
        endSpans(["e", "f", "g", "h", "i", "j"], on: tracer)

        // Two producers find the queue at its high-water mark and wait, first come first.
        let first = Task { await endSpansWaiting(["k"], on: tracer) }
        #expect(await waitForThrottled(1, on: tracer))
        let second = Task { await endSpansWaiting(["l"], on: tracer) }
        #expect(await waitForThrottled(2, on: tracer))
        #expect(tracer.statistics.queueLength == 6)

        // Exports drain the queue to half; both go in without the clock moving.
        exporter.open()
        await first.value
        await second.value
        #expect(await tracer.forceFlush(deadline: .now + .seconds(30)))

        #expect(
            exporter.exportedNames == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"])
        let statistics = tracer.statistics
        #expect(statistics.exported == 12)
        #expect(statistics.dropped == 0)
        #expect(statistics.throttled == 2)
        #expect(statistics.throttleTimeouts == 0)
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func endWaitingForRoom_whenWaitRunsOut_dropsCountsAndStopsWaiting() async {
        let tracer = makeTracer(maxQueueWait: .seconds(1))
        endSpans(["a", "b", "c", "d"], on: tracer)
        #expect(await exporter.waitForExportCalls(1))
        endSpans(["e", "f", "g", "h", "i", "j", "k", "l"], on: tracer)
        #expect(tracer.statistics.queueLength == 8)

        let waiting = Task { await endSpansWaiting(["m"], on: tracer) }
        #expect(await waitForThrottled(1, on: tracer))
        while !clock.requestedSleeps.contains(.seconds(1)) { await Task.yield() }
        clock.advance(by: .seconds(1))
        await waiting.value

        // The queue is still full: the span is dropped, the wait counted as run out.
        var statistics = tracer.statistics
        #expect(statistics.dropped == 1)
        #expect(statistics.throttleTimeouts == 1)
        #expect(sink.collected.contains { $0.metadata[LogKey.reason] == "queue_wait_timeout" })

        // Until exports make room, producers no longer wait: the next end drops at once.
        await endSpansWaiting(["n"], on: tracer)
        statistics = tracer.statistics
        #expect(statistics.dropped == 2)
        #expect(statistics.throttled == 1)

        exporter.open()
        #expect(await tracer.forceFlush(deadline: .now + .seconds(30)))
        #expect(tracer.statistics.exported == 12)
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func endWaitingForRoom_afterExportsDrainQueue_waitsAgain() async {
        let tracer = makeTracer(maxQueueWait: .seconds(1))
        endSpans(["a", "b", "c", "d"], on: tracer)
        #expect(await exporter.waitForExportCalls(1))
        endSpans(["e", "f", "g", "h", "i", "j", "k", "l"], on: tracer)
        let timedOut = Task { await endSpansWaiting(["m"], on: tracer) }
        #expect(await waitForThrottled(1, on: tracer))
        while !clock.requestedSleeps.contains(.seconds(1)) { await Task.yield() }
        clock.advance(by: .seconds(1))
        await timedOut.value

        exporter.open()
        #expect(await tracer.forceFlush(deadline: .now + .seconds(30)))
        exporter.close()
        endSpans(["o", "p", "q", "r"], on: tracer)
        #expect(await exporter.waitForExportCalls(4))
        endSpans(["s", "t", "u", "v", "w", "x"], on: tracer)

        let waiting = Task { await endSpansWaiting(["y"], on: tracer) }
        #expect(await waitForThrottled(2, on: tracer))
        exporter.open()
        await waiting.value
        #expect(await tracer.forceFlush(deadline: .now + .seconds(30)))

        #expect(exporter.exportedNames.last == "y")
        #expect(tracer.statistics.throttleTimeouts == 1)
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func endWaitingForRoom_withZeroMaxWait_dropsWhenFullLikeEnd() async {
        let tracer = makeTracer(maxQueueWait: .zero)
        endSpans(["a", "b", "c", "d"], on: tracer)
        #expect(await exporter.waitForExportCalls(1))

        await endSpansWaiting(["e", "f", "g", "h", "i", "j", "k", "l", "m"], on: tracer)

        let statistics = tracer.statistics
        #expect(statistics.queueLength == 8)
        #expect(statistics.dropped == 1)
        #expect(statistics.throttled == 0)
        exporter.open()
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func shutdown_releasesWaitingProducersAndCountsTheirSpans() async {
        let tracer = makeTracer()
        endSpans(["a", "b", "c", "d"], on: tracer)
        #expect(await exporter.waitForExportCalls(1))
        endSpans(["e", "f", "g", "h", "i", "j"], on: tracer)
        let waiting = Task { await endSpansWaiting(["k"], on: tracer) }
        #expect(await waitForThrottled(1, on: tracer))

        await tracer.shutdown(deadline: .now)
        await waiting.value

        // The waiting span and the six queued ones are dropped; the held batch is not.
        #expect(tracer.statistics.dropped == 7)
        exporter.open()
    }

    @Test func waitForQueueRoom_belowHighWaterMark_returnsTrueAtOnce() async {
        let tracer = makeTracer()
        endSpans(["a", "b", "c", "d", "e"], on: tracer)

        #expect(await tracer.waitForQueueRoom())
        #expect(tracer.statistics.throttled == 0)
        exporter.open()
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func waitForQueueRoom_atHighWaterMark_returnsOnceExportsDrainTheQueue() async {
        let tracer = makeTracer()
        endSpans(["a", "b", "c", "d"], on: tracer)
        #expect(await exporter.waitForExportCalls(1))
        endSpans(["e", "f", "g", "h", "i", "j"], on: tracer)

        let waiting = Task { await tracer.waitForQueueRoom() }
        #expect(await waitForThrottled(1, on: tracer))
        exporter.open()

        #expect(await waiting.value)
        #expect(tracer.statistics.queueLength <= 4)
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func waitForQueueRoom_whenWaitRunsOut_returnsFalse() async {
        let tracer = makeTracer(maxQueueWait: .milliseconds(500))
        endSpans(["a", "b", "c", "d"], on: tracer)
        #expect(await exporter.waitForExportCalls(1))
        endSpans(["e", "f", "g", "h", "i", "j"], on: tracer)

        let waiting = Task { await tracer.waitForQueueRoom() }
        #expect(await waitForThrottled(1, on: tracer))
        while !clock.requestedSleeps.contains(.milliseconds(500)) { await Task.yield() }
        clock.advance(by: .milliseconds(500))

        #expect(await waiting.value == false)
        #expect(tracer.statistics.throttleTimeouts == 1)
        #expect(tracer.statistics.dropped == 0)
        exporter.open()
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func waitForQueueRoom_withoutExporter_returnsTrue() async {
        let tracer = Tracer(configuration: TracingConfiguration(), exporter: nil, logger: .disabled)

        #expect(await tracer.waitForQueueRoom())
        #expect(await Tracer.disabled.waitForQueueRoom())
    }
}
