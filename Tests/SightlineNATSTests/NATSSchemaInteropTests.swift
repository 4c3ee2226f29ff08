import Foundation
import Sightline
import SightlineDemo
import SightlineNATS
import Testing

/// Messages written in Python (nats-py) per docs/wire-format.md in older and newer schema
/// versions, read by a Sightline consumer of `OrderPlaced` version 2 over JetStream.
@Suite(.serialized) struct NATSSchemaInteropTests {
    let server: NATSServerProcess

    init() throws {
        server = try NATSServerProcess()
    }

    static let versionOneBody =
        #"{"orderIndex": 7, "customerID": "00042", "day": 19970115, "compactDiscs": 2, "dollars": 29.5}"#

    @Test func pythonVersionOne_isUpcastForTheVersionTwoConsumer() async throws {
        let node = try NATSNode(server: server)
        let seen = Tally<OrderPlaced>()
        try await node.bus.subscribe(
            to: OrderPlaced.self, group: "billing", upcasting: DemoSchemas.orderUpcasters
        ) { order, _ in
            seen.append(order)
        }

        _ = try NATSPythonInteropTests.runProducer([
            "--url", server.url, "--channel", OrderPlaced.channel,
            "--type", OrderPlaced.messageType, "--count", "2", "--partitions", "4",
            "--schema-version", "1", "--body", Self.versionOneBody,
        ])
        let handled = await eventually { seen.count >= 2 }
        await node.stop()

        #expect(handled)
        #expect(seen.count == 2)
        let order = try #require(seen.all.first)
        #expect(order.orderIndex == 7)
        #expect(order.customerID == "00042")
        #expect(order.dollars == 29.5)
        #expect(order.currency == "USD")
    }

    @Test func pythonFutureVersion_isDeadLetteredWithTheVersionsKnown() async throws {
        let node = try NATSNode(server: server)
        let seen = Tally<OrderPlaced>()
        try await node.bus.subscribe(
            to: OrderPlaced.self, group: "billing", upcasting: DemoSchemas.orderUpcasters
        ) { order, _ in
            seen.append(order)
        }

        _ = try NATSPythonInteropTests.runProducer([
            "--url", server.url, "--channel", OrderPlaced.channel,
            "--type", OrderPlaced.messageType, "--count", "1", "--partitions", "4",
            "--schema-version", "3", "--body", Self.versionOneBody,
        ])
        let settled = await eventually {
            (try? await node.bus.deadLetters(matching: DeadLetterFilter(group: "billing")).count)
                == 1
        }
        let letters = try await node.bus.deadLetters(matching: DeadLetterFilter(group: "billing"))
        await node.stop()

        #expect(settled)
        #expect(seen.count == 0)
        let letter = try #require(letters.first)
        #expect(letter.reason == .unknownVersion)
        #expect(letter.errorDescription.contains("version 3"))
        #expect(letter.errorDescription.contains("versions known: 1, 2"))
    }
}
