import Foundation
import Sightline
import SightlineNATS
import Testing

@Suite(.serialized) struct NATSIdempotencyTests {
    let server: NATSServerProcess

    init() throws {
        server = try NATSServerProcess()
    }

    @Test func effectivelyOnce_whenProcessDiesBeforeAcknowledging_isNotHandledAgain()
        async throws
    {
        var configuration = NATSTestConfiguration.standard
        configuration.ackWait = .seconds(1)
        let storeConnection = try NATSConnection(
            options: NATSConnectionOptions(servers: [server.url]), logger: .disabled)
        defer { storeConnection.close() }
        let processed = NATSIdempotencyStore(connection: storeConnection, bucket: "TEST_ONCE")
        let options = SubscriptionOptions(delivery: .effectivelyOnce(window: .seconds(60)))
        let handled = Tally<String>()

        let first = try NATSNode(
            server: server, configuration: configuration, name: "first",
            idempotencyStore: processed)
        try await first.bus.subscribe(to: PaymentTaken.self, group: "once", options: options) {
            _, _ in
            handled.append("first")
            // The process loses its connection after the work, before it acknowledges.
            first.connection.close()
        }
        try await first.bus.publish(PaymentTaken(account: "once", sequence: 1))
        _ = await eventually { handled.count == 1 }

        let second = try NATSNode(
            server: server, configuration: configuration, name: "second",
            idempotencyStore: processed)
        try await second.bus.subscribe(to: PaymentTaken.self, group: "once", options: options) {
            _, _ in
            handled.append("second")
        }
        // Settled: nothing waiting and the message acknowledged (by the first process before
        // its connection went, or by the second as a duplicate).
        let settled = await eventually(timeout: .seconds(40)) {
            try? await second.transport.refreshLag()
            let lag = second.transport.lag(
                of: GroupKey(channel: PaymentTaken.channel, group: "once"))
            return lag?.waiting == 0 && (lag?.settledTotal ?? 0) >= 1
        }
        await second.stop()

        #expect(settled)
        #expect(handled.all == ["first"])
    }
}
