import Foundation
import Sightline
import SightlineNATS
import Synchronization
import Testing

@Suite(.serialized) struct NATSCrashTests {
    @Test func serverKilledAndRestarted_everyAcknowledgedPublishIsDelivered() async throws {
        let server = try NATSServerProcess()
        let producer = try NATSNode(server: server, name: "producer")
        let consumer = try NATSNode(server: server, name: "consumer")
        let handled = Tally<Int>()
        try await consumer.bus.subscribe(
            to: PaymentTaken.self, group: "survivor", options: SubscriptionOptions(concurrency: 4)
        ) { event, _ in
            handled.append(event.sequence)
        }

        let acknowledged = Tally<Int>()
        let publishing = Task {
            for sequence in 1...300 {
                do {
                    try await producer.bus.publish(
                        PaymentTaken(account: "acct\(sequence % 7)", sequence: sequence),
                        options: PublishOptions(whenFull: .fail))
                    acknowledged.append(sequence)
                } catch {
                    // Refused while the server is down: not acknowledged, so not promised.
                }
                try? await Task.sleep(for: .milliseconds(3))
            }
        }
        _ = await eventually { acknowledged.count >= 60 }
        server.kill()
        try await Task.sleep(for: .milliseconds(300))
        try server.start()
        await publishing.value

        let acked = Set(acknowledged.all)
        let delivered = await eventually(timeout: .seconds(30)) {
            Set(handled.all).isSuperset(of: acked)
        }
        let counts = producer.connection.counts
        await producer.stop()
        await consumer.stop()

        #expect(delivered)
        #expect(acked.count >= 60)
        #expect(acked.subtracting(handled.all).isEmpty)
        #expect(counts.disconnects >= 1)
        #expect(counts.reconnects >= 1)
    }
}
