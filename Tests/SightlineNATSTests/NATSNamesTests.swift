import Foundation
import Sightline
import SightlineNATS
import Testing

@Suite struct NATSNamesTests {
    @Test(
        arguments: [
            ("", 8, 0xcbf2_9ce4_8422_2325 % 8),
            ("a", 8, 0xaf63_dc4c_8601_ec8c % 8),
            ("a", 1000, 0xaf63_dc4c_8601_ec8c % 1000),
            ("foobar", 16, 0x8594_4171_f739_67e8 % 16),
        ] as [(String, Int, UInt64)])
    func partition_ofKey_isFNV1a64ModuloPartitions(key: String, partitions: Int, expected: UInt64) {
        #expect(NATSNames.partition(of: key, partitions: partitions) == Int(expected))
    }

    @Test func names_forDottedChannelAndGroup_areEscaped() {
        #expect(NATSNames.stream(channel: "orders.placed") == "SIGHTLINE_orders~2Eplaced")
        #expect(
            NATSNames.subject(channel: "orders.placed", partition: 3) == "sightline.orders.placed.3"
        )
        #expect(NATSNames.consumer(group: "bill ing", partition: 0) == "bill~20ing_p0")
        #expect(NATSNames.escaped("é") == "~C3~A9")
    }

    @Test func reconnectDelay_doublesUpToTheCeiling() {
        let options = NATSConnectionOptions(
            reconnectDelay: .milliseconds(100), maximumReconnectDelay: .seconds(1))

        let delays = (1...6).map { options.reconnectDelay(forAttempt: $0) }

        #expect(
            delays == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800),
                .seconds(1), .seconds(1),
            ])
    }

    @Test func configuration_withZeroPartitions_isRefused() throws {
        let server = try NATSServerProcess()
        let connection = try NATSConnection(
            options: NATSConnectionOptions(servers: [server.url]), logger: .disabled)
        defer { connection.close() }

        let error = #expect(throws: NATSError.self) {
            _ = try NATSTransport(
                connection: connection, configuration: NATSTransportConfiguration(partitions: 0))
        }

        #expect(error?.code == .invalidConfiguration)
    }

    @Test func connect_withNoServerListening_failsWithConnectionFailed() throws {
        let port = try NATSServerProcess.freePort()

        let error = #expect(throws: NATSError.self) {
            _ = try NATSConnection(
                options: NATSConnectionOptions(
                    servers: ["nats://127.0.0.1:\(port)"], connectTimeout: .milliseconds(200)),
                logger: .disabled)
        }

        #expect(error?.code == .connectionFailed)
    }
}
