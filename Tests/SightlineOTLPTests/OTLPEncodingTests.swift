import Foundation
import Sightline
import Testing

@testable import SightlineOTLP

@Suite struct OTLPEncodingTests {
    let resource = TracingResource(attributes: ["service.name": .string("orders")])

    @Test func encode_sameInputTwice_givesSameBytes() {
        let encoder = OTLPTraceEncoder()

        let first = encoder.encode(SampleSpans.parentAndChild, resource: resource)
        let second = encoder.encode(SampleSpans.parentAndChild, resource: resource)

        #expect(first == second)
        // Field 1 of ExportTraceServiceRequest, length-delimited: tag byte 0x0A.
        #expect(first.first == 0x0A)
    }

    @Test func encode_manySpans_exceedsOneArenaBlockAndStaysDecodable() {
        let spans = (1...2_000).map { index in
            SpanData(
                context: SpanContext(
                    traceID: TraceID(high: 1, low: UInt64(index)), spanID: SpanID(UInt64(index)),
                    flags: .sampled),
                parentSpanID: nil, name: "span \(index)", kind: .internal,
                startTimeUnixNano: 1, endTimeUnixNano: 2, attributes: ["index": .int(Int64(index))])
        }

        let bytes = OTLPTraceEncoder().encode(spans, resource: resource)

        #expect(bytes.count > 64 * 1024)
        #expect(OTLPHTTPExporter.partialSuccess([]) == (0, ""))
    }

    @Test func partialSuccess_ofResponseBytes_readsCountAndMessage() {
        // partial_success (field 1) { rejected_spans (1) = 3, error_message (2) = "no" }
        let body: [UInt8] = [0x0A, 0x06, 0x08, 0x03, 0x12, 0x02, 0x6E, 0x6F]

        let (rejected, message) = OTLPHTTPExporter.partialSuccess(body)

        #expect(rejected == 3)
        #expect(message == "no")
    }

    @Test func statusError_retriesOnlyThrottlingAndUnavailability() {
        let retriable = [400, 401, 403, 404, 408, 413, 429, 500, 501, 502, 503, 504].filter {
            OTLPHTTPExporter.statusError($0, endpoint: "http://x/v1/traces").isRetriable
        }

        #expect(retriable == [429, 502, 503, 504])
    }

    @Test func delay_withoutRetryAfter_doublesUpToMaxWithJitter() {
        let retry = OTLPExporterConfiguration.Retry(
            initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(500), maxAttempts: 9)

        #expect(retry.delay(afterAttempt: 1, retryAfter: nil, jitter: 0) == .milliseconds(50))
        #expect(retry.delay(afterAttempt: 1, retryAfter: nil, jitter: 1) == .milliseconds(100))
        #expect(retry.delay(afterAttempt: 2, retryAfter: nil, jitter: 1) == .milliseconds(200))
        #expect(retry.delay(afterAttempt: 3, retryAfter: nil, jitter: 0.5) == .milliseconds(300))
        #expect(retry.delay(afterAttempt: 4, retryAfter: nil, jitter: 1) == .milliseconds(500))
        #expect(retry.delay(afterAttempt: 60, retryAfter: nil, jitter: 1) == .milliseconds(500))
    }

    @Test func delay_withRetryAfter_waitsExactlyThatLong() {
        let retry = OTLPExporterConfiguration.Retry(
            initialBackoff: .milliseconds(100), maxBackoff: .milliseconds(500), maxAttempts: 9)

        #expect(retry.delay(afterAttempt: 1, retryAfter: .seconds(2), jitter: 0) == .seconds(2))
    }

    @Test func generatedCode_matchesProtoFiles() throws {
        let root = ReceiverProcess.repositoryRoot
        let output = FileManager.default.temporaryDirectory
            .appendingPathComponent("sightline-generate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }

        let process = Process()
        process.executableURL = root.appendingPathComponent("scripts/generate-otlp")
        process.arguments = [output.path]
        try process.run()
        process.waitUntilExit()

        #expect(process.terminationStatus == 0)
        let target = root.appendingPathComponent("Sources/COTLPProto")
        let fresh = try Self.generatedFiles(under: output)
        let committed = try Self.generatedFiles(under: target)
        #expect(fresh.keys.sorted() == committed.keys.sorted())
        #expect(fresh.count == 8)
        for (path, bytes) in fresh.sorted(by: { $0.key < $1.key }) {
            #expect(committed[path] == bytes, "\(path) is stale: run scripts/generate-otlp")
        }
    }

    /// The protoc-c outputs (`*.pb-c.c`, `include/*.pb-c.h`) under a target-shaped folder.
    private static func generatedFiles(under folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for subfolder in ["", "include/"] {
            let directory = folder.appendingPathComponent(subfolder)
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path)
            where name.hasSuffix(".pb-c.c") || name.hasSuffix(".pb-c.h") {
                files[subfolder + name] = FileManager.default.contents(
                    atPath: directory.appendingPathComponent(name).path)
            }
        }
        return files
    }
}
