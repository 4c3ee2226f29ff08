import Foundation
import Sightline
import SightlineOTLP

/// `sightline bench tracing`: the messaging tracing workload end to end, next to the official
/// OpenTelemetry Python SDK on the same workload when it is installed.
///
/// The workload: one producer; each span the root PRODUCER span of a new trace with four
/// messaging attributes and one link; the default batch settings (queue 2048, batch 512,
/// 5 s schedule delay); OTLP/HTTP protobuf to a local receiver
/// (`Tests/Support/python/otlp_receiver.py`, which decodes every request and counts the
/// spans of the requests it answered 2xx; "delivered" is its count, never ours).
///
/// Sightline's producer ends its spans with `Span.endWaitingForRoom()`, the back-pressure
/// path the bus uses: it waits while the span queue is three quarters full instead of
/// dropping. The flat-out phase also runs with the synchronous `Span.end()`, which drops
/// when the queue is full, for comparison.
///
/// Phases, each with a tracer and exporter of its own that are shut down (queue flushed)
/// before the figures are read:
/// 1. flat out for `--seconds`, with back-pressure and then dropping: spans created per
///    second, delivered share, CPU per span (all threads of this process, from the first
///    span to the end of the flush), drops, waits for queue room, and peak resident memory
///    right after the phase;
/// 2. exporter capacity: pre-built spans exported batch after batch through the
///    `OTLPHTTPExporter`; spans per CPU-second of this process (its capacity on one core)
///    and per wall-clock second;
/// 3. steady rates for `--steady-seconds` each: 15 000/s and fractions of the capacity;
/// 4. the Python SDK (`Tests/Support/python/otel_sdk_workload.py`) flat out and at 15 000/s.
enum TracingBenchmark {
    static let usage = """
        usage: sightline bench tracing [--seconds S] [--steady-seconds S] [--no-python]
                                       [--rate R] [--json]
          --seconds S         flat-out phase length (default 5)
          --steady-seconds S  length of each steady-rate phase (default 5)
          --rate R            only one steady phase at R spans/s (for profiling)
          --no-python         skip the OpenTelemetry Python SDK runs
          --json              print one JSON object as the last line
        Run from the repository root: it starts Tests/Support/python/otlp_receiver.py and,
        when opentelemetry-exporter-otlp-proto-http is installed (scripts/setup puts it in
        .cache/venv), Tests/Support/python/otel_sdk_workload.py.
        """

    /// The figures of one run of the workload.
    struct Phase: Encodable {
        var sdk: String
        var mode: String
        var targetRate: Double?
        var created: Int
        var createdPerSecond: Double
        var delivered: Int
        var deliveredShare: Double
        var cpuMicrosecondsPerSpan: Double
        /// Steady phases: the same less the pacing loop's own cost (its 10 ms sleeps and
        /// clock reads, measured alone in the same run).
        var cpuMicrosecondsPerSpanLessPacing: Double?
        var dropped: Int?
        /// Span ends that waited for room in the queue.
        var throttled: Int?
        var peakResidentBytes: Int?
    }

    struct Report: Encodable {
        var phases: [Phase]
        var exporterSpansPerCPUSecond: Double
        var exporterSpansPerSecond: Double
        var pythonSDK: String
    }

    static func run(_ words: [String]) async throws -> Int32 {
        let arguments = try CommandArguments(
            words, switchNames: ["--json", "--no-python"],
            valueNames: ["--seconds", "--steady-seconds", "--rate"])
        try arguments.requireNoPositional()
        let seconds = try arguments.int("--seconds", range: 1...3600) ?? 5
        let steadySeconds = try arguments.int("--steady-seconds", range: 1...3600) ?? 5
        let json = arguments.has("--json")
        let onlyRate = try arguments.int("--rate", range: 1...10_000_000)

        let receiver = try await BenchmarkReceiver.start()
        let report: Report
        do {
            if let onlyRate {
                report = try await runOneRate(
                    receiver: receiver, rate: Double(onlyRate), seconds: steadySeconds)
            } else {
                report = try await runPhases(
                    receiver: receiver, seconds: seconds, steadySeconds: steadySeconds,
                    python: !arguments.has("--no-python"))
            }
        } catch {
            await receiver.stop()
            throw error
        }
        await receiver.stop()

        print(table(report))
        if json { print(try jsonLine(report)) }
        return 0
    }

    private static func runPhases(
        receiver: BenchmarkReceiver, seconds: Int, steadySeconds: Int, python: Bool
    ) async throws -> Report {
        let endpoint = "http://127.0.0.1:\(receiver.port)/v1/traces"

        var phases: [Phase] = []
        for waits in [true, false] {
            let flatOut = try await runSightline(
                endpoint: endpoint, receiver: receiver, seconds: Double(seconds), rate: nil,
                waitsForRoom: waits)
            phases.append(flatOut)
            log(flatOut)
        }

        let (perCPUSecond, perSecond) = try await measureExporter(endpoint: endpoint)
        FileHandle.standardError.write(
            Data(
                String(
                    format: "exporter: %.0f spans per CPU-second, %.0f spans/s\n", perCPUSecond,
                    perSecond
                ).utf8))

        let pacing = await pacingCPUSecondsPerSecond()
        for rate in [15_000, perSecond * 0.5, perSecond * 0.9] {
            var phase = try await runSightline(
                endpoint: endpoint, receiver: receiver, seconds: Double(steadySeconds),
                rate: rate.rounded())
            let spansPerSecond = phase.createdPerSecond
            phase.cpuMicrosecondsPerSpanLessPacing =
                phase.cpuMicrosecondsPerSpan - pacing * 1e6 / max(spansPerSecond, 1)
            phases.append(phase)
            log(phase)
        }

        var pythonSDK = "skipped (--no-python)"
        if python {
            if let python = PythonWorkload.interpreter() {
                pythonSDK = "opentelemetry-sdk via \(python)"
                for rate in [nil, 15_000.0] {
                    let phase = try await PythonWorkload.run(
                        python: python, endpoint: endpoint, receiver: receiver,
                        seconds: rate == nil ? seconds : steadySeconds, rate: rate)
                    phases.append(phase)
                    log(phase)
                }
            } else {
                pythonSDK = "not installed (run scripts/setup)"
            }
        }

        return Report(
            phases: phases, exporterSpansPerCPUSecond: perCPUSecond,
            exporterSpansPerSecond: perSecond, pythonSDK: pythonSDK)
    }

    /// One steady phase and nothing else: a short run to profile.
    private static func runOneRate(
        receiver: BenchmarkReceiver, rate: Double, seconds: Int
    ) async throws -> Report {
        let endpoint = "http://127.0.0.1:\(receiver.port)/v1/traces"
        var phase = try await runSightline(
            endpoint: endpoint, receiver: receiver, seconds: Double(seconds), rate: rate)
        phase.cpuMicrosecondsPerSpanLessPacing =
            phase.cpuMicrosecondsPerSpan - (await pacingCPUSecondsPerSecond()) * 1e6
            / max(phase.createdPerSecond, 1)
        return Report(
            phases: [phase], exporterSpansPerCPUSecond: 0, exporterSpansPerSecond: 0,
            pythonSDK: "skipped (--rate)")
    }

    // MARK: - Sightline

    /// The workload through a fresh tracer and OTLP exporter: flat out when `rate` is nil;
    /// spans end with back-pressure unless `waitsForRoom` is false.
    private static func runSightline(
        endpoint: String, receiver: BenchmarkReceiver, seconds: Double, rate: Double?,
        waitsForRoom: Bool = true
    ) async throws -> Phase {
        let exporter = try OTLPHTTPExporter(
            configuration: OTLPExporterConfiguration(endpoint: endpoint), logger: .disabled)
        var configuration = TracingConfiguration()
        configuration.serviceName = "sightline-bench"
        let tracer = Tracer(configuration: configuration, exporter: exporter, logger: .disabled)
        let before = try await receiver.deliveredSpans()

        let cpuBefore = ProcessResources.cpuSeconds()
        let (created, elapsed) = await produce(
            tracer: tracer, seconds: seconds, rate: rate, waitsForRoom: waitsForRoom)
        await tracer.shutdown(deadline: .now + .seconds(120))
        let cpu = ProcessResources.cpuSeconds() - cpuBefore

        let delivered = try await receiver.deliveredSpans() - before
        let mode = rate != nil ? "steady" : waitsForRoom ? "flat out" : "flat drop"
        return Phase(
            sdk: "sightline", mode: mode, targetRate: rate,
            created: created, createdPerSecond: Double(created) / elapsed, delivered: delivered,
            deliveredShare: Double(delivered) / Double(max(created, 1)),
            cpuMicrosecondsPerSpan: cpu * 1e6 / Double(max(created, 1)),
            dropped: tracer.statistics.dropped, throttled: tracer.statistics.throttled,
            peakResidentBytes: ProcessResources.peakResidentBytes())
    }

    /// Makes spans for `seconds`, flat out or paced at `rate` per second in 10 ms steps
    /// (at 15 000/s, 150 spans per step: steady at the scale of an export batch, while the
    /// pacing wakes ten times less often than in 1 ms steps). Returns how many and the seconds
    /// it took.
    private static func produce(
        tracer: Tracer, seconds: Double, rate: Double?, waitsForRoom: Bool
    ) async -> (Int, Double) {
        let creation = SpanContext(
            traceID: TraceID(high: 0x4bf9_2f35_77b3_4da6, low: 0xa3ce_929d_0e0e_4736),
            spanID: SpanID(0x00f0_67aa_0ba9_02b7), flags: .sampled, isRemote: true)
        let link = SpanLinkData(
            context: creation, attributes: ["sightline.link.reason": .string("creation")])
        let start = ContinuousClock.now
        let end = start + .seconds(seconds)
        var created = 0
        var now = start

        while now < end {
            let due: Int
            if let rate {
                due = Int((now - start).seconds * rate) - created
            } else {
                due = 256
            }
            for _ in 0..<max(due, 0) {
                let span = tracer.startSpan(
                    "publish orders", kind: .producer, parent: nil, links: [link],
                    attributes: [
                        "messaging.system": .string("sightline"),
                        "messaging.operation.name": .string("publish"),
                        "messaging.destination.name": .string("orders"),
                        "messaging.message.id": .string("msg-\(created)"),
                    ])
                if waitsForRoom {
                    await span.endWaitingForRoom()
                } else {
                    span.end()
                }
                created += 1
            }
            if rate != nil { try? await Task.sleep(for: pacingStep) }
            now = .now
        }
        return (created, (now - start).seconds)
    }

    private static let pacingStep = Duration.milliseconds(10)

    /// CPU seconds per second that the steady phases' pacing loop costs with no spans.
    private static func pacingCPUSecondsPerSecond() async -> Double {
        let start = ContinuousClock.now
        let cpuBefore = ProcessResources.cpuSeconds()
        while ContinuousClock.now - start < .seconds(1) {
            try? await Task.sleep(for: pacingStep)
        }
        return (ProcessResources.cpuSeconds() - cpuBefore) / (ContinuousClock.now - start).seconds
    }

    /// Spans per CPU-second of this process and per wall-clock second when pre-built spans
    /// are exported batch after batch (default batch size) through the OTLP exporter.
    private static func measureExporter(endpoint: String) async throws -> (Double, Double) {
        // 40 batches sent five times over: enough to measure, without the memory of
        // 100 000 distinct spans showing in the peak reported by later phases.
        let spans = ExporterBenchmarkOptions.messagingSpans(count: 40 * 512)
        let batches = stride(from: 0, to: spans.count, by: 512).map {
            Array(spans[$0..<min($0 + 512, spans.count)])
        }
        let resource = TracingResource(attributes: ["service.name": .string("sightline-bench")])
        let exporter = try OTLPHTTPExporter(
            configuration: OTLPExporterConfiguration(endpoint: endpoint), logger: .disabled)

        let cpuBefore = ProcessResources.cpuSeconds()
        let start = ContinuousClock.now
        for _ in 0..<5 {
            for batch in batches {
                if case .failure(let reason) = await exporter.export(batch, resource: resource) {
                    throw ExporterBenchmarkError(description: "an export failed: \(reason)")
                }
            }
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let cpu = ProcessResources.cpuSeconds() - cpuBefore
        await exporter.shutdown(deadline: .now + .seconds(5))
        return (Double(5 * spans.count) / cpu, Double(5 * spans.count) / elapsed)
    }

    // MARK: - Output

    private static func log(_ phase: Phase) {
        FileHandle.standardError.write(Data((row(phase) + "\n").utf8))
    }

    private static func row(_ phase: Phase) -> String {
        let mode =
            phase.targetRate.map { String(format: "%.0f/s", $0) } ?? phase.mode
        let memory = phase.peakResidentBytes.map(ProcessResources.megabytes) ?? "-"
        return [
            phase.sdk.padding(toLength: 10, withPad: " ", startingAt: 0),
            mode.padding(toLength: 10, withPad: " ", startingAt: 0),
            String(
                format: "%10d %12.0f %10d %8.1f%% %8.1f", phase.created,
                phase.createdPerSecond, phase.delivered, phase.deliveredShare * 100,
                phase.cpuMicrosecondsPerSpan),
            (phase.cpuMicrosecondsPerSpanLessPacing.map { String(format: "%.1f", $0) } ?? "-")
                .padding(toLength: 8, withPad: " ", startingAt: 0),
            (phase.dropped.map(String.init) ?? "-").padding(
                toLength: 8, withPad: " ", startingAt: 0),
            (phase.throttled.map(String.init) ?? "-").padding(
                toLength: 7, withPad: " ", startingAt: 0),
            memory,
        ].joined(separator: " ")
    }

    private static func table(_ report: Report) -> String {
        let header =
            "sdk        rate          created    created/s  delivered     share   cpu µs  "
            + "-pacing dropped  waits   peak RSS"
        var lines = [header] + report.phases.map(row)
        lines.append(
            String(
                format: "exporter capacity: %.0f spans per CPU-second (one core), %.0f spans/s",
                report.exporterSpansPerCPUSecond, report.exporterSpansPerSecond))
        lines.append("python sdk: \(report.pythonSDK)")
        return lines.joined(separator: "\n")
    }

    private static func jsonLine(_ report: Report) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(report), as: UTF8.self)
    }
}

/// The Python SDK's run of the same workload, in a process of its own.
private enum PythonWorkload {
    static let script = "Tests/Support/python/otel_sdk_workload.py"

    /// A Python with the SDK and its OTLP/HTTP exporter, or nil.
    static func interpreter() -> String? {
        let candidates = [".cache/venv/bin/python3", "/usr/bin/python3"]
        for python in candidates where FileManager.default.isExecutableFile(atPath: python) {
            let check = Process()
            check.executableURL = URL(fileURLWithPath: python)
            check.arguments = ["-c", "import opentelemetry.exporter.otlp.proto.http"]
            check.standardError = FileHandle.nullDevice
            guard (try? check.run()) != nil else { continue }
            check.waitUntilExit()
            if check.terminationStatus == 0 { return python }
        }
        return nil
    }

    private struct Output: Decodable {
        var created: Int
        var seconds: Double
        var cpuSeconds: Double
        var peakRssBytes: Int
    }

    static func run(
        python: String, endpoint: String, receiver: BenchmarkReceiver, seconds: Int,
        rate: Double?
    ) async throws -> TracingBenchmark.Phase {
        let before = try await receiver.deliveredSpans()
        var arguments = [script, "--endpoint", endpoint, "--seconds", "\(seconds)"]
        if let rate { arguments += ["--rate", "\(Int(rate))"] }
        let text = try await BenchmarkReceiver.output(of: python, arguments)
        guard let line = text.split(separator: "\n").last,
            let output = try? decoder.decode(Output.self, from: Data(line.utf8))
        else {
            throw ExporterBenchmarkError(description: "\(script) printed no figures: \(text)")
        }

        let delivered = try await receiver.deliveredSpans() - before
        return TracingBenchmark.Phase(
            sdk: "python", mode: rate == nil ? "flat out" : "steady", targetRate: rate,
            created: output.created, createdPerSecond: Double(output.created) / output.seconds,
            delivered: delivered,
            deliveredShare: Double(delivered) / Double(max(output.created, 1)),
            cpuMicrosecondsPerSpan: output.cpuSeconds * 1e6 / Double(max(output.created, 1)),
            dropped: nil, throttled: nil, peakResidentBytes: output.peakRssBytes)
    }

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()
}
