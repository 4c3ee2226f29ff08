import Foundation
import Sightline
import SightlineOTLP

/// What `sightline bench exporter` could not do.
struct ExporterBenchmarkError: Error, CustomStringConvertible {
    var description: String
}

/// `sightline bench exporter` (flags in ``ExporterBenchmarkOptions/usage``).
///
/// Measures the OTLP exporter against the Python test receiver
/// (`Tests/Support/python/otlp_receiver.py`, found from the current directory, so run it
/// from the repository root):
///
/// 1. encoding alone: N typical messaging spans (four attributes, one link, each in a new
///    trace) in batches, encoded to protobuf; spans per second and bytes per span, raw and
///    gzipped (gzip is not timed);
/// 2. delivery: the same batches exported one after the other through `OTLPHTTPExporter`
///    (encoding, optional gzip, HTTP POST and the receiver's decoding), spans per second.
///
/// Prints a table, or one JSON object on one line with `--json`.
func runExporterBenchmark(arguments: [String]) async throws {
    let options = try ExporterBenchmarkOptions(arguments: arguments)
    let spans = ExporterBenchmarkOptions.messagingSpans(count: options.spans)
    let batches = stride(from: 0, to: spans.count, by: options.batch).map {
        Array(spans[$0..<min($0 + options.batch, spans.count)])
    }
    let resource = TracingResource(
        attributes: ["service.name": .string("sightline-bench"), "host.name": .string("bench")])

    let encoder = OTLPTraceEncoder()
    let clock = ContinuousClock()
    var rawBytes = 0
    let encodeTime = clock.measure {
        for batch in batches {
            rawBytes += encoder.encode(batch, resource: resource).count
        }
    }
    var gzipBytes = 0
    for batch in batches {
        gzipBytes += try ExporterBenchmarkOptions.gzipSize(
            encoder.encode(batch, resource: resource))
    }

    let receiver = try await BenchmarkReceiver.start()
    let exporter = try OTLPHTTPExporter(
        configuration: OTLPExporterConfiguration(
            endpoint: "http://127.0.0.1:\(receiver.port)/v1/traces",
            compression: options.compression, timeout: .seconds(60)),
        logger: .standardError)
    var failures = 0
    let deliverTime = await clock.measure {
        for batch in batches {
            if case .failure = await exporter.export(batch, resource: resource) { failures += 1 }
        }
    }
    let statistics = exporter.statistics
    await exporter.shutdown(deadline: .now + .seconds(5))
    await receiver.stop()

    guard failures == 0 else {
        throw ExporterBenchmarkError(
            description: "\(failures) of \(batches.count) batches failed to export")
    }

    let count = Double(spans.count)
    let report = ExporterBenchmarkReport(
        spans: spans.count, batch: options.batch, compression: options.compression.rawValue,
        encodeSpansPerSecond: count / max(encodeTime.seconds, 1e-9),
        deliverSpansPerSecond: count / max(deliverTime.seconds, 1e-9),
        rawBytesPerSpan: Double(rawBytes) / count, gzipBytesPerSpan: Double(gzipBytes) / count,
        requests: statistics.requests, bytesSent: statistics.bytesSent,
        peakResidentBytes: ProcessResources.peakResidentBytes())
    print(options.json ? try report.jsonLine() : report.table())
}

/// The command-line options of `bench exporter`.
struct ExporterBenchmarkOptions {
    var spans = 100_000
    var batch = 512
    var compression = OTLPExporterConfiguration.Compression.none
    var json = false

    static let usage = """
        usage: sightline bench exporter [--spans N] [--batch N] [--compression none|gzip]
                                        [--json]
          --spans N         spans to encode and deliver (default 100000)
          --batch N         spans per export request (default 512)
          --compression C   none or gzip for delivery (default none)
          --json            print one JSON object as the last line
        Run from the repository root: it starts Tests/Support/python/otlp_receiver.py.
        """

    init(arguments words: [String]) throws {
        let arguments = try CommandArguments(
            words, switchNames: ["--json"], valueNames: ["--spans", "--batch", "--compression"])
        try arguments.requireNoPositional()
        json = arguments.has("--json")
        spans = try arguments.int("--spans", range: 1...100_000_000) ?? spans
        batch = try arguments.int("--batch", range: 1...100_000) ?? batch
        if let value = arguments.string("--compression") {
            guard let parsed = OTLPExporterConfiguration.Compression(rawValue: value) else {
                throw UsageError(message: "--compression must be none or gzip, got '\(value)'")
            }
            compression = parsed
        }
    }

    /// Publish-side spans as the bus makes them: four attributes and a link to the
    /// creation context, each span the root of its own trace.
    static func messagingSpans(count: Int) -> [SpanData] {
        var generator = SystemRandomNumberGenerator()
        let start: UInt64 = 1_700_000_000_000_000_000
        return (0..<count).map { index in
            let context = SpanContext(
                traceID: .random(using: &generator), spanID: .random(using: &generator),
                flags: .sampled)
            let creation = SpanContext(
                traceID: .random(using: &generator), spanID: .random(using: &generator),
                flags: .sampled, isRemote: true)
            let begin = start + UInt64(index) * 1_000
            return SpanData(
                context: context, parentSpanID: nil, name: "orders publish", kind: .producer,
                startTimeUnixNano: begin, endTimeUnixNano: begin + 250_000,
                attributes: [
                    "messaging.system": .string("sightline"),
                    "messaging.destination.name": .string("orders"),
                    "messaging.message.id": .string("msg-\(index)"),
                    "messaging.message.body.size": .int(Int64(200 + index % 300)),
                ],
                links: [
                    SpanLinkData(
                        context: creation,
                        attributes: ["sightline.link.reason": .string("creation")])
                ])
        }
    }

    static func gzipSize(_ bytes: [UInt8]) throws -> Int {
        guard let compressed = OTLPTraceEncoder.gzip(bytes) else {
            throw ExporterBenchmarkError(description: "gzip of an encoded batch failed")
        }
        return compressed.count
    }
}

/// The figures of one run.
struct ExporterBenchmarkReport: Encodable {
    var spans: Int
    var batch: Int
    var compression: String
    var encodeSpansPerSecond: Double
    var deliverSpansPerSecond: Double
    var rawBytesPerSpan: Double
    var gzipBytesPerSpan: Double
    var requests: Int
    var bytesSent: Int
    var peakResidentBytes: Int

    func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    func table() -> String {
        let rows: [(String, String)] = [
            ("spans", "\(spans)"),
            ("batch size", "\(batch)"),
            ("compression (delivery)", compression),
            ("encoded spans/s", String(format: "%.0f", encodeSpansPerSecond)),
            ("delivered spans/s", String(format: "%.0f", deliverSpansPerSecond)),
            ("bytes/span raw", String(format: "%.1f", rawBytesPerSpan)),
            ("bytes/span gzip", String(format: "%.1f", gzipBytesPerSpan)),
            ("requests", "\(requests)"),
            ("bytes sent", "\(bytesSent)"),
            ("peak resident memory", ProcessResources.megabytes(peakResidentBytes)),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
            .joined(separator: "\n")
    }
}

/// The Python receiver started for one benchmark run, without span output.
struct BenchmarkReceiver {
    let process: Process
    let port: Int

    static let script = "Tests/Support/python/otlp_receiver.py"

    /// The project's virtual environment when there is one (scripts/setup makes it).
    static var python: String {
        let venv = ".cache/venv/bin/python3"
        return FileManager.default.isExecutableFile(atPath: venv) ? venv : "python3"
    }

    static func start() async throws -> BenchmarkReceiver {
        guard FileManager.default.fileExists(atPath: script) else {
            throw ExporterBenchmarkError(
                description: "\(script) not found: run from the repository root")
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script, "--port", "0"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()

        let line = await firstLine(of: output.fileHandleForReading)
        guard let line, let port = Int(line) else {
            process.terminate()
            throw ExporterBenchmarkError(
                description: "\(script) printed no port (is opentelemetry-proto installed?)")
        }
        return BenchmarkReceiver(process: process, port: port)
    }

    /// The spans the receiver has decoded and answered 2xx for so far (its `GET /stats`).
    func deliveredSpans() async throws -> Int {
        struct Stats: Decodable { var spans: Int }
        let text = try await Self.output(
            of: "/usr/bin/env", ["curl", "-sf", "http://127.0.0.1:\(port)/stats"])
        guard let stats = try? JSONDecoder().decode(Stats.self, from: Data(text.utf8)) else {
            throw ExporterBenchmarkError(description: "the receiver's /stats answered '\(text)'")
        }
        return stats.spans
    }

    /// Runs a program to its end on a thread of its own and returns what it printed.
    static func output(of program: String, _ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(
            fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
        process.arguments = program.hasPrefix("/") ? arguments : [program] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        return await withCheckedContinuation { continuation in
            Thread {
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }.start()
        }
    }

    /// Terminates the receiver and waits for it on a thread of its own.
    func stop() async {
        let process = self.process
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                process.terminate()
                process.waitUntilExit()
                continuation.resume()
            }.start()
        }
    }

    private static func firstLine(of handle: FileHandle) async -> String? {
        await withCheckedContinuation { continuation in
            Thread {
                var bytes: [UInt8] = []
                while let byte = handle.readData(ofLength: 1).first {
                    if byte == UInt8(ascii: "\n") {
                        continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
                        return
                    }
                    bytes.append(byte)
                }
                continuation.resume(returning: nil)
            }.start()
        }
    }
}
