import Foundation
import Sightline
import SightlineNATS
import Testing

/// A producer in Python (nats-py, OpenTelemetry SDK) following docs/wire-format.md.
@Suite(.serialized) struct NATSPythonInteropTests {
    let server: NATSServerProcess

    init() throws {
        server = try NATSServerProcess()
    }

    @Test func pythonProducer_isHandledAndItsTraceContinues() async throws {
        let node = try NATSNode(server: server)
        let seen = Tally<MessageContext>()
        try await node.bus.subscribe(to: PaymentTaken.self, group: "interop") { _, context in
            seen.append(context)
        }

        let output = try Self.runProducer([
            "--url", server.url, "--channel", PaymentTaken.channel,
            "--type", PaymentTaken.messageType, "--count", "6", "--partitions", "4",
        ])
        let handled = await eventually { seen.count >= 6 }
        await node.stop()

        let traceID = try #require(output["trace_id"] as? String)
        let spanID = try #require(output["span_id"] as? String)
        let ids = try #require(output["ids"] as? [String])
        #expect(handled)
        #expect(seen.count == 6)
        #expect(Set(seen.all.map(\.messageID.description)) == Set(ids))
        #expect(seen.all.allSatisfy { $0.envelope.traceParent == "00-\(traceID)-\(spanID)-01" })
        #expect(seen.all.allSatisfy { $0.attempt == 1 })
    }

    @Test func pythonProducer_withHostileHeaders_isDeadLetteredWithReasons() async throws {
        let node = try NATSNode(server: server)
        let seen = Tally<Int>()
        try await node.bus.subscribe(to: PaymentTaken.self, group: "interop") { event, _ in
            seen.append(event.sequence)
        }

        _ = try Self.runProducer([
            "--url", server.url, "--channel", PaymentTaken.channel,
            "--type", PaymentTaken.messageType, "--partitions", "4", "--hostile",
        ])
        let settled = await eventually { node.transport.malformedMessages == 5 }
        let letters = try await node.bus.deadLetters(matching: DeadLetterFilter(group: "interop"))
        await node.stop()

        #expect(settled)
        #expect(seen.count == 0)
        #expect(letters.count == 5)
        #expect(letters.allSatisfy { $0.reason == NATSTransport.malformedReason })
        let errors = letters.map(\.errorDescription).sorted()
        #expect(errors.contains { $0.contains("missingField (sightline-type)") })
        #expect(errors.contains { $0.contains("oversized (x-padding)") })
        #expect(errors.contains { $0.contains("invalidField (sightline-attempt)") })
        #expect(errors.contains { $0.contains("invalidField (sightline-priority)") })
        #expect(errors.contains { $0.contains("invalidField (sightline-schema-version)") })
        // The trace context survives into the dead letter.
        #expect(letters.allSatisfy { $0.envelope.traceParent?.hasPrefix("00-") == true })
    }

    static func runProducer(_ arguments: [String]) throws -> [String: Any] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Support/python/nats_producer.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path] + arguments
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
            throw NATSError(
                .invalidConfiguration,
                "the Python producer failed (pip install nats-py opentelemetry-sdk): \(errorText)")
        }
        let line = try #require(String(decoding: data, as: UTF8.self).split(separator: "\n").last)
        return try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}
