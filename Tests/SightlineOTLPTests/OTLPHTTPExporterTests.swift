import Foundation
import Sightline
import SightlineOTLP
import Testing

/// The exporter against the Python receiver, which decodes with the official OTLP protos.
@Suite struct OTLPHTTPExporterTests {
    let resource = TracingResource(
        attributes: ["service.name": .string("orders"), "service.instance.id": .string("i-7")],
        scopeName: "sightline", scopeVersion: "0.1.0")

    /// Retries quick enough for tests; Retry-After (1 s from the receiver) still wins.
    static let quickRetry = OTLPExporterConfiguration.Retry(
        initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(80), maxAttempts: 3)

    func makeExporter(
        _ endpoint: String, compression: OTLPExporterConfiguration.Compression = .none,
        timeout: Duration = .seconds(10), headers: [String: String] = [:],
        logger: Logger = .disabled
    ) throws -> OTLPHTTPExporter {
        try OTLPHTTPExporter(
            configuration: OTLPExporterConfiguration(
                endpoint: endpoint, headers: headers, compression: compression,
                timeout: timeout, retry: Self.quickRetry),
            logger: logger)
    }

    // MARK: - Content

    @Test func export_whenReceiverAccepts_deliversEveryFieldAsOTLP() async throws {
        let receiver = try await ReceiverProcess()
        defer { receiver.stop() }
        let exporter = try makeExporter(
            receiver.endpoint, headers: ["X-Tenant": "blue", "Authorization": "Bearer t0k"])

        let result = await exporter.export(SampleSpans.parentAndChild, resource: resource)
        await exporter.shutdown(deadline: .now + .seconds(2))

        #expect(result == .success(rejected: 0))
        let requests = try receiver.requests()
        #expect(requests.count == 1)
        #expect(requests.first?.contentType == "application/x-protobuf")
        #expect(requests.first?.headers?["x-tenant"] == "blue")
        #expect(requests.first?.headers?["authorization"] == "Bearer t0k")
        #expect(requests.first?.headers?["content-encoding"] == nil)
        #expect(requests.first?.headers?["user-agent"] == "sightline-otlp/0.1.0")

        let spans = try receiver.spans()
        #expect(spans.count == 2)
        let producer = try #require(spans.first)
        #expect(producer.traceId == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(producer.spanId == "00f067aa0ba902b7")
        #expect(producer.parentSpanId == "")
        #expect(producer.traceState == "vendor=a1")
        #expect(producer.flags == 1)
        #expect(producer.name == "orders publish")
        #expect(producer.kind == "SPAN_KIND_PRODUCER")
        #expect(producer.startTimeUnixNano == 1_700_000_000_000_000_000)
        #expect(producer.endTimeUnixNano == 1_700_000_000_002_000_000)
        #expect(
            producer.attributes == [
                "messaging.system": "string:sightline",
                "messaging.destination.name": "string:orders",
                "messaging.batch.message_count": "int:3",
                "sightline.priority": "double:0.5",
                "sightline.redelivered": "bool:false",
                "sightline.tags": "array:[string:eu,string:vip]",
            ])
        #expect(producer.spanStatus == ReceivedRecord.Status(code: "STATUS_CODE_OK", message: ""))
        #expect(producer.events == [])
        #expect(producer.links == [])
        #expect(
            producer.resourceAttributes == [
                "service.name": "string:orders", "service.instance.id": "string:i-7",
            ])
        #expect(producer.scopeName == "sightline")
        #expect(producer.scopeVersion == "0.1.0")

        let consumer = try #require(spans.last)
        #expect(consumer.traceId == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(consumer.spanId == "b7ad6b7169203331")
        #expect(consumer.parentSpanId == "00f067aa0ba902b7")
        #expect(consumer.kind == "SPAN_KIND_CONSUMER")
        #expect(consumer.flags == 0)
        #expect(
            consumer.spanStatus
                == ReceivedRecord.Status(code: "STATUS_CODE_ERROR", message: "handler threw"))
        #expect(
            consumer.events == [
                ReceivedRecord.Event(
                    name: "sightline.retry.scheduled", timeUnixNano: 1_700_000_000_001_500_000,
                    attributes: ["sightline.attempt": "int:2", "sightline.delay": "double:0.25"]
                )
            ])
        #expect(
            consumer.links == [
                ReceivedRecord.Link(
                    traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b9c7c989f97918e1",
                    traceState: "other=x", flags: 0x301,
                    attributes: ["sightline.link.reason": "string:creation"]),
                ReceivedRecord.Link(
                    traceId: "0af7651916cd43dd8448eb211c80319d", spanId: "b9c7c989f97918e2",
                    traceState: "", flags: 0x100, attributes: [:]),
            ])
        #expect(exporter.statistics.exportedSpans == 2)
        #expect(exporter.statistics.requests == 1)
    }

    @Test func export_twice_reusesOneConnection() async throws {
        let receiver = try await ReceiverProcess()
        defer { receiver.stop() }
        let exporter = try makeExporter(receiver.endpoint)

        _ = await exporter.export(SampleSpans.parentAndChild, resource: resource)
        _ = await exporter.export(SampleSpans.parentAndChild, resource: resource)
        await exporter.shutdown(deadline: .now + .seconds(2))

        let ports = try receiver.requests().map(\.clientPort)
        #expect(ports.count == 2)
        #expect(ports.first == ports.last)
    }

    @Test func export_withGzip_receiverSeesGzipAndIdenticalSpans() async throws {
        let plainReceiver = try await ReceiverProcess()
        defer { plainReceiver.stop() }
        let gzipReceiver = try await ReceiverProcess()
        defer { gzipReceiver.stop() }
        let plain = try makeExporter(plainReceiver.endpoint, compression: .none)
        let zipped = try makeExporter(gzipReceiver.endpoint, compression: .gzip)

        let plainResult = await plain.export(SampleSpans.parentAndChild, resource: resource)
        let zippedResult = await zipped.export(SampleSpans.parentAndChild, resource: resource)
        await plain.shutdown(deadline: .now + .seconds(2))
        await zipped.shutdown(deadline: .now + .seconds(2))

        #expect(plainResult == .success(rejected: 0))
        #expect(zippedResult == .success(rejected: 0))
        #expect(try plainReceiver.requests().map(\.gzip) == [false])
        #expect(try gzipReceiver.requests().map(\.gzip) == [true])
        #expect(try gzipReceiver.requests().first?.headers?["content-encoding"] == "gzip")
        let plainSpans = try plainReceiver.spans().map(\.content)
        #expect(plainSpans.count == 2)
        #expect(try gzipReceiver.spans().map(\.content) == plainSpans)
        #expect(zipped.statistics.bytesSent > 0)
    }

    @Test func export_whenPartialSuccess_reportsRejectedCount() async throws {
        let receiver = try await ReceiverProcess(arguments: ["--partial-rejected", "1"])
        defer { receiver.stop() }
        let logs = CollectingLogSink()
        let exporter = try makeExporter(receiver.endpoint, logger: Logger(sink: logs))

        let result = await exporter.export(SampleSpans.parentAndChild, resource: resource)
        await exporter.shutdown(deadline: .now + .seconds(2))

        #expect(result == .success(rejected: 1))
        #expect(exporter.statistics.rejectedSpans == 1)
        #expect(exporter.statistics.exportedSpans == 1)
        let warning = try #require(logs.collected.first { $0.level == .warning })
        #expect(warning.metadata[LogKey.count] == "1")
        #expect(warning.metadata[LogKey.reason] == "rejected by the test script")
    }

    // MARK: - Faults

    @Test func export_when503WithRetryAfterThen200_deliversEverySpanExactlyOnce() async throws {
        let receiver = try await ReceiverProcess(arguments: ["--script", "503:2,200"])
        defer { receiver.stop() }
        let exporter = try makeExporter(receiver.endpoint)
        let started = ContinuousClock.now

        let result = await exporter.export(SampleSpans.parentAndChild, resource: resource)
        let elapsed = ContinuousClock.now - started
        await exporter.shutdown(deadline: .now + .seconds(2))

        #expect(result == .success(rejected: 0))
        #expect(try receiver.requests().map(\.status) == [503, 503, 200])
        #expect(
            try receiver.spans().compactMap(\.spanId) == ["00f067aa0ba902b7", "b7ad6b7169203331"])
        // Two Retry-After: 1 answers; the 20 ms backoff alone would have taken far less.
        #expect(elapsed >= .seconds(2))
        #expect(
            exporter.statistics
                == OTLPExporterStatistics(
                    requests: 3, retries: 2, exportedSpans: 2, failedSpans: 0, rejectedSpans: 0,
                    bytesSent: exporter.statistics.bytesSent))
    }

    @Test func export_when400_failsAfterOneRequestWithoutRetry() async throws {
        let receiver = try await ReceiverProcess(arguments: ["--status", "400"])
        defer { receiver.stop() }
        let logs = CollectingLogSink()
        let exporter = try makeExporter(receiver.endpoint, logger: Logger(sink: logs))

        let result = await exporter.export(SampleSpans.parentAndChild, resource: resource)
        await exporter.shutdown(deadline: .now + .seconds(2))

        guard case .failure(let reason) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(reason.contains("HTTP 400"))
        #expect(try receiver.requests().map(\.status) == [400])
        #expect(try receiver.spans() == [])
        #expect(exporter.statistics.requests == 1)
        #expect(exporter.statistics.retries == 0)
        #expect(exporter.statistics.failedSpans == 2)
        let warning = try #require(logs.collected.first { $0.level == .warning })
        #expect(warning.metadata[LogKey.statusCode] == "400")
        #expect(warning.metadata[LogKey.endpoint] == receiver.endpoint)
    }

    @Test func export_whenRetryAfterPassesDeadline_failsWithoutWaiting() async throws {
        let receiver = try await ReceiverProcess(
            arguments: ["--status", "503", "--retry-after", "30"])
        defer { receiver.stop() }
        let exporter = try makeExporter(receiver.endpoint, timeout: .seconds(3))
        let started = ContinuousClock.now

        let result = await exporter.export(SampleSpans.parentAndChild, resource: resource)
        let elapsed = ContinuousClock.now - started
        await exporter.shutdown(deadline: .now + .seconds(2))

        guard case .failure(let reason) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(reason.contains("HTTP 503"))
        #expect(reason.contains("deadline"))
        #expect(try receiver.requests().count == 1)
        // Far below the 30 s Retry-After: the exporter gave up instead of waiting. The margin
        // is wide because these machines are shared and a tight bound would be flaky.
        #expect(elapsed < .seconds(15))
    }

    @Test func export_whenReceiverDown_failsAfterRetriesThenSucceedsOnceItListens() async throws {
        // Learn a free port from a receiver that is then stopped: nothing listens there now.
        let probe = try await ReceiverProcess()
        let port = probe.port
        probe.stop()
        let exporter = try makeExporter("http://127.0.0.1:\(port)/v1/traces")

        let down = await exporter.export(SampleSpans.parentAndChild, resource: resource)

        guard case .failure(let reason) = down else {
            Issue.record("expected a failure, got \(down)")
            return
        }
        #expect(reason.hasPrefix("connectionFailed"))
        #expect(exporter.statistics.requests == 3)
        #expect(exporter.statistics.retries == 2)
        #expect(exporter.statistics.failedSpans == 2)

        let receiver = try await ReceiverProcess(port: port)
        defer { receiver.stop() }
        let up = await exporter.export(SampleSpans.parentAndChild, resource: resource)
        await exporter.shutdown(deadline: .now + .seconds(2))

        #expect(up == .success(rejected: 0))
        #expect(try receiver.spans().count == 2)
        #expect(exporter.statistics.exportedSpans == 2)
    }

    // MARK: - Lifecycle and configuration

    @Test func export_afterShutdown_failsWithoutRequest() async throws {
        let receiver = try await ReceiverProcess()
        defer { receiver.stop() }
        let exporter = try makeExporter(receiver.endpoint)

        await exporter.shutdown(deadline: .now + .seconds(2))
        let result = await exporter.export(SampleSpans.parentAndChild, resource: resource)

        #expect(result == .failure(reason: "shutDown: the exporter is shut down"))
        #expect(try receiver.requests() == [])
    }

    @Test func shutdown_duringSlowRequest_abortsItAtTheDeadline() async throws {
        let receiver = try await ReceiverProcess(arguments: ["--delay", "60"])
        defer { receiver.stop() }
        let exporter = try makeExporter(receiver.endpoint, timeout: .seconds(120))
        let resource = self.resource
        let export = Task { await exporter.export(SampleSpans.parentAndChild, resource: resource) }
        while exporter.statistics.requests == 0 { try await Task.sleep(for: .milliseconds(10)) }
        let started = ContinuousClock.now

        await exporter.shutdown(deadline: .now + .milliseconds(300))
        let result = await export.value

        // Far below the receiver's 60 s delay (a wide margin: these machines are shared).
        #expect(ContinuousClock.now - started < .seconds(20))
        guard case .failure(let reason) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(reason.hasPrefix("shutDown"))
        #expect(exporter.statistics.failedSpans == 2)
    }

    @Test func export_whenReceiverIsSlowerThanTimeout_failsByTheDeadline() async throws {
        let receiver = try await ReceiverProcess(arguments: ["--delay", "60"])
        defer { receiver.stop() }
        let exporter = try makeExporter(receiver.endpoint, timeout: .milliseconds(500))
        let started = ContinuousClock.now

        let result = await exporter.export(SampleSpans.parentAndChild, resource: resource)
        let elapsed = ContinuousClock.now - started
        await exporter.shutdown(deadline: .now + .seconds(1))

        // Far below the receiver's 60 s delay (a wide margin: these machines are shared).
        #expect(elapsed < .seconds(20))
        guard case .failure(let reason) = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
        #expect(reason.hasPrefix("timedOut"))
    }

    @Test func export_ofNoSpans_succeedsWithoutRequest() async throws {
        let exporter = try makeExporter("http://127.0.0.1:9/v1/traces")

        let result = await exporter.export([], resource: resource)
        await exporter.shutdown(deadline: .now + .seconds(2))

        #expect(result == .success(rejected: 0))
        #expect(exporter.statistics.requests == 0)
    }

    @Test func init_whenEndpointIsNotHTTP_throwsInvalidConfiguration() {
        #expect(throws: OTLPExportError.self) {
            _ = try OTLPHTTPExporter(
                configuration: OTLPExporterConfiguration(endpoint: "localhost:4318"))
        }
        #expect(throws: OTLPExportError.self) {
            _ = try OTLPHTTPExporter(
                configuration: OTLPExporterConfiguration(headers: ["X-Bad": "a\r\nInjected: 1"]))
        }
    }
}
