import Foundation
import Sightline
import SightlineNATS
import Testing

/// Publishes through a bounded window of publishes awaiting JetStream's acknowledgement.
@Suite(.serialized, .timeLimit(.minutes(1))) struct NATSPublishWindowTests {
    let server: NATSServerProcess

    init() throws {
        server = try NATSServerProcess()
    }

    @Test func enqueue_withTinyWindowAndManyPublishers_storesEveryMessage() async throws {
        let connection = try NATSConnection(
            options: NATSConnectionOptions(servers: [server.url], publishWindow: 2),
            logger: .disabled)
        defer { connection.close() }
        let transport = try NATSTransport(
            connection: connection, configuration: NATSTestConfiguration.standard)
        let key = GroupKey(channel: "test.window", group: "reader")
        try await transport.declare(GroupDescriptor(key: key, capacity: 64, concurrency: 1))

        try await withThrowingTaskGroup(of: Void.self) { publishers in
            for _ in 0..<50 {
                publishers.addTask {
                    let envelope = Envelope(
                        messageType: "test.Window", channel: "test.window",
                        payload: Data("{}".utf8))
                    try await transport.enqueue(envelope, to: [], whenFull: .fail)
                }
            }
            try await publishers.waitForAll()
        }
        try await transport.refreshLag()
        let waiting = transport.lag(of: key)?.waiting
        _ = await transport.close()

        #expect(waiting == 50)
    }

    @Test func enqueue_whenConnectionClosesBeforeAcknowledgements_failsEveryWaitingPublish()
        async throws
    {
        let connection = try NATSConnection(
            options: NATSConnectionOptions(
                servers: [server.url], requestTimeout: .seconds(30), publishWindow: 2),
            logger: .disabled)
        let transport = try NATSTransport(
            connection: connection, configuration: NATSTestConfiguration.standard)
        func envelope() -> Envelope {
            Envelope(messageType: "test.Window", channel: "test.closing", payload: Data("{}".utf8))
        }
        // The stream exists before the server stops answering.
        try await transport.enqueue(envelope(), to: [], whenFull: .fail)
        server.pause()
        defer { server.resume() }

        let outcomes = Tally<String>()
        let publishers = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        do {
                            try await transport.enqueue(envelope(), to: [], whenFull: .fail)
                            outcomes.append("stored")
                        } catch let error as NATSError {
                            outcomes.append("\(error.code)")
                        } catch {
                            outcomes.append("other: \(error)")
                        }
                    }
                }
            }
        }
        // Two publishes hold the window awaiting acknowledgements that cannot come; eight
        // wait for a place.
        try await Task.sleep(for: .milliseconds(300))
        #expect(outcomes.count == 0)
        connection.close()
        let ended = await eventually(timeout: .seconds(10)) { outcomes.count == 10 }
        publishers.cancel()

        #expect(ended)
        #expect(outcomes.all == Array(repeating: "\(NATSError.Code.connectionFailed)", count: 10))
    }
}
