import Foundation
import Sightline
import SightlineNATS
import Testing

/// A three-node JetStream cluster on loopback with streams replicated three times.
@Suite(.serialized) struct NATSClusterTests {
    @Test func clusterNodeKilledDuringRun_publishingAndConsumingContinue() async throws {
        let clientPorts = try (0..<3).map { _ in try NATSServerProcess.freePort() }
        let routePorts = try (0..<3).map { _ in try NATSServerProcess.freePort() }
        let routes = routePorts.map { "nats://127.0.0.1:\($0)" }.joined(separator: ",")
        let servers = try (0..<3).map { index in
            try NATSServerProcess(
                port: clientPorts[index],
                arguments: [
                    "-n", "node\(index)", "--cluster_name", "sightline",
                    "--cluster", "nats://127.0.0.1:\(routePorts[index])", "--routes", routes,
                ])
        }
        let urls = clientPorts.map { "nats://127.0.0.1:\($0)" }
        let replicated = NATSStreamSettings(replicas: 3)
        let configuration = NATSTransportConfiguration(
            partitions: 4, defaultStream: replicated, ackWait: .seconds(3),
            fetchTimeout: .milliseconds(200))

        func makeBus(_ name: String) throws -> (NATSConnection, NATSTransport, Bus) {
            let connection = try NATSConnection(
                options: NATSConnectionOptions(servers: urls, name: name), logger: .disabled)
            let transport = try NATSTransport(connection: connection, configuration: configuration)
            let bus = Bus(
                configuration: BusConfiguration(
                    transport: transport, deadLetterStore: transport.deadLetterStore,
                    logger: .disabled))
            return (connection, transport, bus)
        }
        let (producerConnection, _, producer) = try makeBus("producer")
        let (consumerConnection, consumerTransport, consumer) = try makeBus("consumer")
        // The cluster elects its JetStream leader shortly after start; declaring the group
        // (which creates the replicated stream) fails until it has.
        let key = GroupKey(channel: PaymentTaken.channel, group: "replicated")
        var declared = false
        for _ in 0..<150 where !declared {
            do {
                try await consumerTransport.declare(
                    GroupDescriptor(
                        key: key, capacity: 1024, concurrency: 4,
                        maximumAttempts: RetryPolicy.standard.maximumAttempts))
                declared = true
            } catch {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        let handled = Tally<Int>()
        try await consumer.subscribe(
            to: PaymentTaken.self, group: "replicated", options: SubscriptionOptions(concurrency: 4)
        ) { event, _ in
            handled.append(event.sequence)
        }

        let acknowledged = Tally<Int>()
        let publishing = Task {
            // Publish until 250 are acknowledged: those refused while the cluster elects new
            // stream leaders are not counted.
            var sequence = 0
            let deadline = ContinuousClock.now + .seconds(40)
            while acknowledged.count < 250, ContinuousClock.now < deadline {
                sequence += 1
                do {
                    try await producer.publish(
                        PaymentTaken(account: "c\(sequence % 5)", sequence: sequence),
                        options: PublishOptions(whenFull: .fail))
                    acknowledged.append(sequence)
                } catch {
                    // Not acknowledged during the fail-over: not promised.
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        _ = await eventually { acknowledged.count >= 80 }
        servers[0].kill()
        await publishing.value

        let acked = Set(acknowledged.all)
        let delivered = await eventually(timeout: .seconds(45)) {
            Set(handled.all).isSuperset(of: acked)
        }
        _ = await producer.shutdown(deadline: .seconds(2))
        _ = await consumer.shutdown(deadline: .seconds(2))
        producerConnection.close()
        consumerConnection.close()

        #expect(declared)
        #expect(delivered)
        #expect(acked.count == 250)
        #expect(acked.subtracting(handled.all).isEmpty)
    }
}
