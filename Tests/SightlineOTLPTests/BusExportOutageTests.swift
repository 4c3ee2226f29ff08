import Foundation
import Sightline
import SightlineOTLP
import Synchronization
import Testing

/// The collector is down while the bus runs, then comes back: the bus handles everything,
/// lost spans are counted, the span queue stays within its bound, and later spans arrive.
@Suite struct BusExportOutageTests {
    struct Tick: Event {
        static let messageType = "test.Tick"
        var sequence: Int
    }

    @Test func collectorDownThenBack_busKeepsGoingAndLaterSpansArrive() async throws {
        let probe = try await ReceiverProcess()
        let port = probe.port
        probe.stop()

        var tracing = TracingConfiguration()
        tracing.maxQueueSize = 256
        tracing.maxExportBatchSize = 64
        tracing.scheduleDelay = .milliseconds(50)
        tracing.exportTimeout = .seconds(3)
        let exporter = try OTLPHTTPExporter(
            configuration: OTLPExporterConfiguration(
                endpoint: "http://127.0.0.1:\(port)/v1/traces", timeout: .seconds(2),
                retry: .init(
                    initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(100),
                    maxAttempts: 2)),
            logger: .disabled)
        let tracer = Tracer(configuration: tracing, exporter: exporter, logger: .disabled)
        let bus = Bus(configuration: BusConfiguration(logger: .disabled, tracer: tracer))
        let handled = Atomic<Int>(0)
        try await bus.subscribe(to: Tick.self, group: "counter") { _, _ in
            handled.add(1, ordering: .relaxed)
        }

        for sequence in 0..<3000 {
            try await bus.publish(Tick(sequence: sequence))
        }
        for _ in 0..<1_000_000 where handled.load(ordering: .relaxed) < 3000 {
            await Task.yield()
        }
        let during = tracer.statistics

        #expect(handled.load(ordering: .relaxed) == 3000)
        #expect(during.queueLength <= 256)
        #expect(during.dropped + during.failed > 0)
        #expect(during.exported == 0)

        let receiver = try await ReceiverProcess(port: port)
        defer { receiver.stop() }
        for sequence in 3000..<3010 {
            try await bus.publish(Tick(sequence: sequence))
        }
        _ = await bus.shutdown(deadline: .seconds(10))
        #expect(await tracer.forceFlush(deadline: .now + .seconds(20)))
        await tracer.shutdown(deadline: .now + .seconds(5))

        let after = tracer.statistics
        #expect(after.exported > 0)
        #expect(after.spansEnded == after.exported + after.dropped + after.failed)
        let received = try receiver.spans()
        #expect(received.filter { $0.name == "publish test.Tick" }.count >= 10)
    }
}
