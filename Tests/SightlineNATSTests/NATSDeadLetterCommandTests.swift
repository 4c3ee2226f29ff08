import Foundation
import Sightline
import SightlineNATS
import Testing

/// `sightline dlq list|show|redrive --transport nats://…` against a running service.
@Suite(.serialized) struct NATSDeadLetterCommandTests {
    let server: NATSServerProcess

    init() throws {
        server = try NATSServerProcess()
    }

    @Test func dlqCommands_listShowAndRedriveALetterToItsGroup() async throws {
        let node = try NATSNode(server: server)
        let attempts = Tally<Int>()
        let fixed = Tally<Bool>()
        try await node.bus.subscribe(
            to: PaymentTaken.self, group: "billing", options: SubscriptionOptions(retry: .none)
        ) { _, context in
            attempts.append(context.attempt)
            if fixed.count == 0 { throw TestFailure() }
        }
        try await node.bus.publish(PaymentTaken(account: "cli", sequence: 1))
        let lettered = await eventually { (try? await node.transport.deadLetterStore.count()) == 1 }

        let listed = try Self.sightline(["dlq", "list", "--transport", server.url, "--json"])
        let lines = listed.output.split(separator: "\n")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data((lines.first ?? "").utf8))
                as? [String: Any])
        let id = try #require(object["id"] as? String)
        let shown = try Self.sightline(
            ["dlq", "show", id, "--group", "billing", "--transport", server.url])
        fixed.append(true)
        let redriven = try Self.sightline(
            ["dlq", "redrive", id, "--group", "billing", "--transport", server.url])
        let handled = await eventually { attempts.count == 2 }
        let remaining = try await node.transport.deadLetterStore.count()
        await node.stop()

        #expect(lettered)
        #expect(listed.status == 0)
        #expect(lines.count == 1)
        #expect(object["group"] as? String == "billing")
        #expect(object["reason"] as? String == "attempts_exhausted")
        #expect(object["attempts"] as? Int == 1)
        #expect(shown.status == 0)
        #expect(shown.output.contains("\"payload\""))
        #expect(redriven.status == 0)
        #expect(redriven.output == "redriven: 1\n")
        #expect(handled)
        #expect(attempts.all == [1, 1])
        #expect(remaining == 0)
    }

    static func sightline(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try NATSDemoTests.sightlineBinary()
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
