import Foundation
import Sightline
import SightlineNATS
import Synchronization

struct PaymentTaken: Event {
    static let messageType = "test.PaymentTaken"
    static let channel = "test.payments"
    var account: String
    var sequence: Int
    var partitionKey: String? { account }
}

struct ChargeCard: Command {
    static let messageType = "test.ChargeCard"
    static let channel = "test.charges"
    var number: Int
}

struct PriceQuery: Request {
    typealias Reply = Int
    static let messageType = "test.PriceQuery"
    static let channel = "test.prices"
    var item: Int
}

/// Values appended from handlers, read by the test.
final class Tally<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])

    func append(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
    var count: Int { values.withLock { $0.count } }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
func eventually(
    timeout: Duration = .seconds(20), _ condition: @Sendable () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// A bus on its own connection to `server`, as one service process would have.
struct NATSNode {
    let connection: NATSConnection
    let transport: NATSTransport
    let bus: Bus

    init(
        server: NATSServerProcess,
        configuration: NATSTransportConfiguration = NATSTestConfiguration.standard,
        name: String = "test", idempotencyStore: (any IdempotencyStore)? = nil
    ) throws {
        connection = try NATSConnection(
            options: NATSConnectionOptions(servers: [server.url], name: name), logger: .disabled)
        transport = try NATSTransport(connection: connection, configuration: configuration)
        bus = Bus(
            configuration: BusConfiguration(
                transport: transport, deadLetterStore: transport.deadLetterStore,
                idempotencyStore: idempotencyStore, logger: .disabled, randomSeed: 11))
    }

    func stop() async {
        _ = await bus.shutdown(deadline: .seconds(5))
        connection.close()
    }
}

enum NATSTestConfiguration {
    static let standard = NATSTransportConfiguration(
        partitions: 4, streams: [ChargeCard.channel: .commands, PriceQuery.channel: .commands],
        fetchTimeout: .milliseconds(200), lagInterval: .milliseconds(200))
}
