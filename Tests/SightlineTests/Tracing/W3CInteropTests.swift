import Foundation
import Sightline
import Testing

/// Checks Sightline's W3C Trace Context against the official OpenTelemetry Python SDK,
/// through `Tests/Support/python/w3c_interop.py`. Needs `python3` with `opentelemetry-sdk`;
/// fails (does not skip) when either is missing.
@Suite struct W3CInteropTests {
    struct PythonFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// The helper script, found relative to this file.
    static let scriptPath: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tracing
        .deletingLastPathComponent()  // SightlineTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Support/python/w3c_interop.py").path

    /// `python3` from PATH.
    static func findPython() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/python3"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw PythonFailure(
            description: "python3 is not on PATH; the W3C interop tests need python3 with "
                + "the opentelemetry-sdk package")
    }

    /// Runs the helper with `arguments` and decodes its JSON output.
    static func runHelper(_ arguments: [String]) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try findPython())
        process.arguments = [scriptPath] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors

        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(
            decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        guard process.terminationStatus == 0 else {
            throw PythonFailure(
                description: "w3c_interop.py \(arguments) exited with "
                    + "\(process.terminationStatus): \(errorText)")
        }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw PythonFailure(description: "w3c_interop.py printed no JSON object")
        }
        return object
    }

    @Test func pythonInject_isParsedBySightline() throws {
        let result = try Self.runHelper(["inject"])
        let headers = try #require(result["headers"] as? [String: String])

        let traceparent = try #require(headers["traceparent"])
        let tracestate = try #require(headers["tracestate"])
        let parent = try #require(TraceParent.parse(traceparent))
        let state = TraceState.parse(headers: [tracestate])

        #expect(parent.traceID.hex == result["trace_id"] as? String)
        #expect(parent.parentID.hex == result["span_id"] as? String)
        #expect(parent.flags.isSampled == (result["sampled"] as? Bool))
        #expect(state.headerValue == "vendor=value1,tenant@system=v2")
        #expect(parent.headerValue == traceparent)
    }

    @Test func sightlineHeaders_areExtractedByPython() throws {
        var configuration = TracingConfiguration()
        configuration.sampler = .alwaysOn
        let tracer = Tracer(configuration: configuration, exporter: nil, logger: .disabled)
        let span = tracer.startSpan("publish", kind: .producer, parent: nil)
        let traceparent = TraceParent(span.context).headerValue
        let tracestate = TraceState().setting(key: "rojo", value: "00f067aa0ba902b7")
            .setting(key: "tenant@sightline", value: "x y").headerValue

        let result = try Self.runHelper(["extract", traceparent, tracestate])

        #expect(result["valid"] as? Bool == true)
        #expect(result["trace_id"] as? String == span.context.traceID.hex)
        #expect(result["span_id"] as? String == span.context.spanID.hex)
        #expect(result["sampled"] as? Bool == true)
        #expect(result["remote"] as? Bool == true)
        #expect(result["tracestate"] as? String == "tenant@sightline=x y,rojo=00f067aa0ba902b7")
    }

    @Test func traceIDRatio_agreesWithPythonSampler() throws {
        let ids = SamplerTests.fixedTraceIDs.prefix(200).map(\.hex)

        let result = try Self.runHelper(["ratio", "0.25"] + ids)
        let python = try #require(result["decisions"] as? [Bool])

        let ours = SamplerTests.fixedTraceIDs.prefix(200).map {
            StandardSampler.ratioDecision(traceID: $0, ratio: 0.25) == .recordAndSample
        }
        #expect(python == ours)
    }
}
