import Sightline
import SightlineTestKit
import Synchronization
import Testing

@Suite struct BatchSpanProcessorTests {
    let clock = ManualClock()
    let exporter = GatedSpanExporter()
    let sink = CollectingLogSink()

    private func makeTracer(
        queue: Int, batch: Int, scheduleDelay: Duration = .seconds(5),
        exportTimeout: Duration = .seconds(30), concurrentExports: Int = 1
    ) -> Tracer {
        var configuration = TracingConfiguration()
        configuration.sampler = .alwaysOn
        configuration.maxQueueSize = queue
        configuration.maxExportBatchSize = batch
        configuration.scheduleDelay = scheduleDelay
        configuration.exportTimeout = exportTimeout
        configuration.maxConcurrentExports = concurrentExports
        return Tracer(
            configuration: configuration, exporter: exporter, clock: clock,
            logger: Logger(sink: sink))
    }

    private func endSpans(_ names: [String], on tracer: Tracer) {
        for name in names { tracer.startSpan(name, parent: nil).end() }
    }

    @Test func spanEnded_whenQueueIsFull_dropsAndCountsWithoutWaiting() async {
        let tracer = makeTracer(queue: 4, batch: 2)

        // The first full batch goes to the exporter, which holds it.
        endSpans(["a", "b"], on: tracer)
        #expect(await exporter.waitForExportCalls(1))

        // Four more fill the queue; the last two find it full.
        endSpans(["c", "d", "e", "f", "g", "h"], on: tracer)

        let blocked = tracer.statistics
        #expect(blocked.spansStarted == 8)
        #expect(blocked.spansEnded == 8)
        #expect(blocked.dropped == 2)
        #expect(blocked.queueLength == 4)
        #expect(blocked.exported == 0)
        let warnings = sink.collected.filter { $0.level == .warning }
        #expect(warnings.count == 1)
        #expect(warnings.first?.metadata[LogKey.reason] == "queue_full")

        exporter.open()
        #expect(await tracer.forceFlush(deadline: .now + .seconds(30)))

        #expect(exporter.exportedNames == ["a", "b", "c", "d", "e", "f"])
        let flushed = tracer.statistics
        #expect(flushed.exported == 6)
        #expect(flushed.dropped == 2)
        #expect(flushed.queueLength == 0)
        #expect(flushed.failed == 0)
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func spanEnded_withConcurrentExports_drainsQueueWhileBatchesAreInFlight() async {
        let tracer = makeTracer(queue: 4, batch: 2, concurrentExports: 2)

        // Two batches leave the queue at once and both wait in the exporter.
        endSpans(["a", "b", "c", "d"], on: tracer)
        #expect(await exporter.waitForExportCalls(2))

        // The queue is empty again: four more fit, the fifth and sixth are dropped.
        endSpans(["e", "f", "g", "h", "i", "j"], on: tracer)
        let blocked = tracer.statistics
        #expect(exporter.batchSizes == [2, 2])
        #expect(blocked.queueLength == 4)
        #expect(blocked.dropped == 2)

        exporter.open()
        #expect(await tracer.forceFlush(deadline: .now + .seconds(30)))

        #expect(Set(exporter.exportedNames) == ["a", "b", "c", "d", "e", "f", "g", "h"])
        #expect(exporter.batchSizes == [2, 2, 2, 2])
        let flushed = tracer.statistics
        #expect(flushed.exported == 8)
        #expect(flushed.dropped == 2)
        #expect(flushed.queueLength == 0)
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func shutdown_withExportsInFlight_waitsForEveryBatch() async {
        let tracer = makeTracer(queue: 8, batch: 2, concurrentExports: 3)

        endSpans(["a", "b", "c", "d", "e", "f", "g"], on: tracer)
        #expect(await exporter.waitForExportCalls(3))
        exporter.open()
        await tracer.shutdown(deadline: .now + .seconds(30))

        let statistics = tracer.statistics
        #expect(statistics.exported == 7)
        #expect(statistics.dropped == 0)
        #expect(exporter.isShutdown)
    }

    @Test func forceFlush_exportsPartialBatchesInBatchSizedCalls() async {
        exporter.open()
        let tracer = makeTracer(queue: 100, batch: 4)

        endSpans((1...10).map { "s\($0)" }, on: tracer)
        #expect(await tracer.forceFlush(deadline: .now + .seconds(30)))

        #expect(exporter.exportedNames == (1...10).map { "s\($0)" })
        #expect(exporter.batchSizes == [4, 4, 2])
        #expect(tracer.statistics.exported == 10)
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func forceFlush_whenNothingQueued_returnsTrueAtOnce() async {
        let tracer = makeTracer(queue: 10, batch: 5)

        #expect(await tracer.forceFlush(deadline: .now + .seconds(30)))
        #expect(exporter.batchSizes.isEmpty)
        await tracer.shutdown(deadline: .now)
    }

    @Test func forceFlush_whenDeadlinePassesWithExporterStuck_returnsFalse() async {
        let tracer = makeTracer(queue: 10, batch: 2)

        endSpans(["a", "b"], on: tracer)
        #expect(await exporter.waitForExportCalls(1))

        #expect(await tracer.forceFlush(deadline: .now) == false)
        exporter.open()
        #expect(await tracer.forceFlush(deadline: .now + .seconds(30)))
        #expect(tracer.statistics.exported == 2)
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func scheduleDelay_whenItPasses_exportsAPartialBatch() async {
        exporter.open()
        let tracer = makeTracer(queue: 100, batch: 50, scheduleDelay: .seconds(5))

        endSpans(["x", "y", "z"], on: tracer)
        #expect(await clock.waitForSleepers(count: 1))
        #expect(clock.requestedSleeps == [.seconds(5)])
        #expect(exporter.batchSizes.isEmpty)

        clock.advance(by: .seconds(5))
        #expect(await exporter.waitForExportCalls(1))

        #expect(exporter.exportedNames == ["x", "y", "z"])
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func exportTimeout_whenExporterHangs_countsTheBatchAsFailed() async {
        let tracer = makeTracer(queue: 10, batch: 2, exportTimeout: .seconds(1))

        endSpans(["a", "b"], on: tracer)
        #expect(await exporter.waitForExportCalls(1))
        // The sleepers now are the schedule-delay timer and the export's timeout.
        #expect(await clock.waitForSleepers(count: 2))
        clock.advance(by: .seconds(1))
        #expect(await tracer.forceFlush(deadline: .now + .seconds(30)))

        #expect(tracer.statistics.failed == 2)
        #expect(tracer.statistics.exported == 0)
        #expect(sink.collected.contains { $0.metadata[LogKey.count] == "2" })
        exporter.open()
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func export_whenReceiverRejectsSome_countsThemAsRejected() async {
        exporter.open()
        exporter.rejectPerBatch(1)
        let tracer = makeTracer(queue: 10, batch: 3)

        endSpans(["a", "b", "c"], on: tracer)
        await tracer.forceFlush(deadline: .now + .seconds(30))

        #expect(tracer.statistics.exported == 2)
        #expect(tracer.statistics.rejected == 1)
        await tracer.shutdown(deadline: .now + .seconds(30))
    }

    @Test func shutdown_exportsQueuedSpansThenDropsNewOnes() async {
        exporter.open()
        let tracer = makeTracer(queue: 10, batch: 5)

        endSpans(["before"], on: tracer)
        await tracer.shutdown(deadline: .now + .seconds(30))
        endSpans(["after"], on: tracer)

        #expect(exporter.exportedNames == ["before"])
        #expect(exporter.isShutdown)
        #expect(tracer.statistics.dropped == 1)
        #expect(tracer.statistics.exported == 1)
    }

    @Test func shutdown_whenDeadlinePassesWithExporterStuck_dropsWhatIsQueued() async {
        let tracer = makeTracer(queue: 10, batch: 2)

        endSpans(["a", "b"], on: tracer)
        #expect(await exporter.waitForExportCalls(1))
        endSpans(["c"], on: tracer)
        await tracer.shutdown(deadline: .now)

        #expect(tracer.statistics.dropped == 1)
        #expect(tracer.statistics.queueLength == 0)
        #expect(sink.collected.contains { $0.metadata[LogKey.reason] == "shutdown_deadline" })
        exporter.open()
    }
}
