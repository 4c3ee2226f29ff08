import Foundation
import Testing

/// Runs `sightline demo` against the Python OTLP receiver (which decodes with the official
/// `opentelemetry-proto` package) and checks that every order makes one complete trace.
@Suite struct DemoTraceEndToEndTests {
    static let orders = 3200

    @Test func demo_exportsOneCompleteTracePerOrder() async throws {
        let receiver = try await ReceiverProcess()
        defer { receiver.stop() }
        let root = ReceiverProcess.repositoryRoot
        let binary = root.appendingPathComponent(".build/debug/sightline")
        let cdnow =
            ProcessInfo.processInfo.environment["SIGHTLINE_CDNOW"]
            ?? root.appendingPathComponent(".cache/cdnow/CDNOW_master.txt").path
        try #require(
            FileManager.default.isExecutableFile(atPath: binary.path),
            "build the sightline executable first (swift build)")
        try #require(
            FileManager.default.fileExists(atPath: cdnow), "run scripts/fetch-cdnow first")

        let process = Process()
        process.executableURL = binary
        process.arguments = [
            "demo", "--orders", cdnow, "--limit", "\(Self.orders)", "--speedup", "0",
            "--failure-rate", "0.05", "--seed", "3", "--json",
        ]
        process.environment = [
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(receiver.port)",
            "OTEL_SERVICE_NAME": "sightline-demo-test",
            "OTEL_BSP_MAX_QUEUE_SIZE": "100000",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)

        let spans = try receiver.spans()
        let traces = Dictionary(grouping: spans) { $0.traceId ?? "" }
        #expect(traces.count == Self.orders)
        #expect(
            spans.allSatisfy {
                $0.resourceAttributes?["service.name"] == "string:sightline-demo-test"
            })

        var invalidTraces = 0
        var retriedSpans = 0
        for (traceID, members) in traces {
            let names = members.compactMap(\.name)
            let publishes = members.filter { $0.name == "publish orders" }
            #expect(publishes.count == 1, "trace \(traceID) has one publish span")
            guard let publish = publishes.first else { continue }
            #expect(publish.kind == "SPAN_KIND_PRODUCER")
            #expect(publish.parentSpanId == "")

            let processing = members.filter { $0.name == "process orders" }
            let groups = Set(
                processing.compactMap { $0.attributes?["messaging.consumer.group.name"] })
            #expect(groups == ["string:billing", "string:shipping", "string:analytics"])
            #expect(processing.allSatisfy { $0.parentSpanId == publish.spanId })
            #expect(processing.allSatisfy { $0.links?.first?.spanId == publish.spanId })
            retriedSpans += members.filter { $0.attributes?["sightline.attempt"] != "int:1" }.count

            let deadLettered = members.filter {
                $0.events?.contains { $0.name == "sightline.dead_lettered" } == true
            }
            if deadLettered.isEmpty {
                #expect(names.contains("send credit"), "trace \(traceID) sends the command")
                #expect(names.contains("process credit"), "trace \(traceID) handles the command")
            } else {
                invalidTraces += 1
                #expect(deadLettered.count == 3, "each order group dead-letters the invalid order")
                #expect(!names.contains("send credit"))
                #expect(
                    deadLettered.allSatisfy {
                        $0.events?.first { $0.name == "sightline.dead_lettered" }?
                            .attributes["sightline.dead_letter.reason"] == "string:invalid_message"
                    })
            }
        }
        #expect(invalidTraces == 4)
        #expect(retriedSpans > 0)
    }
}
