import Foundation
import Sightline
import SightlineNATS
import Testing

@Suite(.serialized) struct NATSTransportTests {
    let server: NATSServerProcess

    init() throws {
        server = try NATSServerProcess()
    }

    @Test func publish_whenTwoGroupsSubscribe_eachGroupHandlesEveryEvent() async throws {
        let node = try NATSNode(server: server)
        let billing = Tally<Int>()
        let audit = Tally<Int>()
        try await node.bus.subscribe(to: PaymentTaken.self, group: "billing") { event, _ in
            billing.append(event.sequence)
        }
        try await node.bus.subscribe(to: PaymentTaken.self, group: "audit") { event, _ in
            audit.append(event.sequence)
        }

        for sequence in 1...40 {
            try await node.bus.publish(
                PaymentTaken(account: "a\(sequence % 5)", sequence: sequence))
        }
        let done = await eventually { billing.count >= 40 && audit.count >= 40 }
        try await Task.sleep(for: .milliseconds(300))
        await node.stop()

        #expect(done)
        #expect(billing.all.sorted() == Array(1...40))
        #expect(audit.all.sorted() == Array(1...40))
    }

    @Test func publish_withCompetingProcessesInOneGroup_handlesEachEventOnce() async throws {
        let producer = try NATSNode(server: server, name: "producer")
        let first = try NATSNode(server: server, name: "worker-1")
        let second = try NATSNode(server: server, name: "worker-2")
        let handled = Tally<Int>()
        for node in [first, second] {
            try await node.bus.subscribe(
                to: PaymentTaken.self, group: "workers",
                options: SubscriptionOptions(concurrency: 4)
            ) { event, _ in
                handled.append(event.sequence)
            }
        }

        for sequence in 1...60 {
            try await producer.bus.publish(
                PaymentTaken(account: "k\(sequence)", sequence: sequence))
        }
        let done = await eventually { handled.count >= 60 }
        try await Task.sleep(for: .milliseconds(300))
        for node in [producer, first, second] { await node.stop() }

        #expect(done)
        #expect(handled.count == 60)
        #expect(Set(handled.all) == Set(1...60))
    }

    @Test func publish_withSameKey_isHandledInPublishOrder() async throws {
        let producer = try NATSNode(server: server, name: "producer")
        let consumer = try NATSNode(server: server, name: "consumer")
        let handled = Tally<PaymentTaken>()
        try await consumer.bus.subscribe(
            to: PaymentTaken.self, group: "ledger", options: SubscriptionOptions(concurrency: 4)
        ) { event, context in
            // Fail every fifth event once, so that retries would reorder an unordered queue.
            if event.sequence % 5 == 0, context.attempt == 1 {
                throw TestFailure()
            }
            handled.append(event)
        }

        for sequence in 1...90 {
            let account = ["alice", "bob", "carol"][sequence % 3]
            try await producer.bus.publish(PaymentTaken(account: account, sequence: sequence))
        }
        let done = await eventually { handled.count >= 90 }
        await producer.stop()
        await consumer.stop()

        #expect(done)
        for account in ["alice", "bob", "carol"] {
            let sequences = handled.all.filter { $0.account == account }.map(\.sequence)
            #expect(sequences.count == 30)
            #expect(sequences == sequences.sorted())
        }
    }

    @Test func send_withHandlerInAnotherProcess_handlesTheCommandOnce() async throws {
        let producer = try NATSNode(server: server, name: "producer")
        let consumer = try NATSNode(server: server, name: "consumer")
        let handled = Tally<Int>()
        try await consumer.bus.handle(ChargeCard.self) { command, _ in
            handled.append(command.number)
        }

        for number in 1...25 {
            try await producer.bus.send(ChargeCard(number: number))
        }
        let done = await eventually { handled.count >= 25 }
        try await Task.sleep(for: .milliseconds(300))
        try await consumer.transport.refreshLag()
        let lag = consumer.transport.lag(
            of: GroupKey(channel: ChargeCard.channel, group: "handler"))
        await producer.stop()
        await consumer.stop()

        #expect(done)
        #expect(handled.all.sorted() == Array(1...25))
        #expect(lag?.waiting == 0)
    }

    @Test func lag_withUnhandledMessages_countsThemFromTheEngine() async throws {
        let connection = try NATSConnection(
            options: NATSConnectionOptions(servers: [server.url]), logger: .disabled)
        defer { connection.close() }
        let transport = try NATSTransport(
            connection: connection, configuration: NATSTestConfiguration.standard)
        let key = GroupKey(channel: "test.lag", group: "slow")
        try await transport.declare(GroupDescriptor(key: key, capacity: 64, concurrency: 1))

        for index in 0..<12 {
            let envelope = Envelope(
                messageType: "test.Lag", channel: "test.lag", partitionKey: "k\(index)",
                payload: Data("{}".utf8))
            try await transport.enqueue(envelope, to: [], whenFull: .fail)
        }
        try await Task.sleep(for: .milliseconds(100))
        try await transport.refreshLag()
        let lag = transport.lag(of: key)
        _ = await transport.close()

        #expect(lag?.waiting == 12)
        #expect((lag?.oldestAge ?? .zero) > .zero)
        #expect(lag?.capacity == 64)
    }

    @Test func enqueue_withSameMessageIDTwice_storesItOnce() async throws {
        let connection = try NATSConnection(
            options: NATSConnectionOptions(servers: [server.url]), logger: .disabled)
        defer { connection.close() }
        let transport = try NATSTransport(
            connection: connection, configuration: NATSTestConfiguration.standard)
        let key = GroupKey(channel: "test.dedup", group: "reader")
        try await transport.declare(GroupDescriptor(key: key, capacity: 64, concurrency: 1))

        let envelope = Envelope(
            messageType: "test.Dedup", channel: "test.dedup", payload: Data("{}".utf8))
        try await transport.enqueue(envelope, to: [], whenFull: .fail)
        try await transport.enqueue(envelope, to: [], whenFull: .fail)
        try await Task.sleep(for: .milliseconds(100))
        try await transport.refreshLag()
        let waiting = transport.lag(of: key)?.waiting
        _ = await transport.close()

        #expect(waiting == 1)
    }

    @Test func enqueue_whenStreamIsFull_failsWithQueueFull() async throws {
        let connection = try NATSConnection(
            options: NATSConnectionOptions(servers: [server.url]), logger: .disabled)
        defer { connection.close() }
        var configuration = NATSTestConfiguration.standard
        configuration.streams["test.small"] = NATSStreamSettings(maximumMessages: 5)
        let transport = try NATSTransport(connection: connection, configuration: configuration)

        var stored = 0
        var refusal: BusError?
        for _ in 0..<6 {
            let envelope = Envelope(
                messageType: "test.Small", channel: "test.small", payload: Data("{}".utf8))
            do {
                try await transport.enqueue(envelope, to: [], whenFull: .fail)
                stored += 1
            } catch let error as BusError {
                refusal = error
            }
        }
        _ = await transport.close()

        #expect(stored == 5)
        #expect(refusal?.code == .queueFull)
    }

    @Test func watchLag_ofGroupInAnotherProcess_reportsItsBacklogToTheProducer() async throws {
        let consumer = try NATSNode(server: server, name: "consumer")
        try await consumer.bus.subscribe(to: PaymentTaken.self, group: "remote") { _, _ in }
        await consumer.stop()
        let producer = try NATSNode(server: server, name: "producer")
        let key = GroupKey(channel: PaymentTaken.channel, group: "remote")

        for sequence in 1...10 {
            try await producer.bus.publish(
                PaymentTaken(account: "w\(sequence)", sequence: sequence))
        }
        producer.transport.watchLag(of: key, capacity: 100)
        try await producer.transport.refreshLag()
        let lag = producer.transport.lag(of: key)
        await producer.stop()

        #expect(lag?.waiting == 10)
        #expect(lag?.inFlight == 0)
        #expect(lag?.capacity == 100)
        #expect((lag?.oldestAge ?? .zero) > .zero)
    }
}

struct TestFailure: Error {}
