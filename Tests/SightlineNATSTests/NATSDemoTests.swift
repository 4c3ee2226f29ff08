import CNATS
import Foundation
import Sightline
import SightlineDemo
import SightlineNATS
import Testing

/// The demo workflow over JetStream: in one process, and split across processes with a
/// consumer killed in the middle.
@Suite(.serialized) struct NATSDemoTests {
    static let groups: [(stream: String, group: String)] = [
        ("SIGHTLINE_orders", "billing"), ("SIGHTLINE_orders", "shipping"),
        ("SIGHTLINE_orders", "analytics"), ("SIGHTLINE_credit", "credit"),
    ]

    @Test func demo_overJetStream_givesTheSameCountsAsInMemory() async throws {
        let server = try NATSServerProcess()
        var configuration = DemoConfiguration(ordersPath: try Self.cdnowPath())
        configuration.limit = 2000
        configuration.speedup = 0
        configuration.failureRate = 0.05
        configuration.seed = 42
        let memory = try await DemoRunner(configuration: configuration, logger: .disabled).run()

        let connection = try NATSConnection(
            options: NATSConnectionOptions(servers: [server.url]), logger: .disabled)
        defer { connection.close() }
        let transport = try NATSTransport(
            connection: connection,
            configuration: NATSTransportConfiguration(
                streams: [ReserveCredit.channel: .commands], fetchTimeout: .milliseconds(200)))
        configuration.engine = DemoEngine(
            transport: transport, deadLetterStore: transport.deadLetterStore)
        let nats = try await DemoRunner(configuration: configuration, logger: .disabled).run()

        #expect(memory.delivered["billing"] == 1999)
        #expect(nats.delivered == memory.delivered)
        #expect(nats.deadLettered.byReason == memory.deadLettered.byReason)
        #expect(nats.deadLettered.byGroup == memory.deadLettered.byGroup)
        #expect(nats.published == memory.published)
        #expect(nats.duplicates == 0)
        #expect(nats.orderViolations == 0)
        #expect(nats.unfinished == 0)
        #expect(nats.isComplete)
    }

    @Test func consumerKilledMidRun_andRestarted_everyOrderIsProcessed() async throws {
        let server = try NATSServerProcess()
        let path = try Self.cdnowPath()
        let common = [
            "demo", "--transport", server.url, "--orders", path, "--limit", "3000",
            "--speedup", "0", "--failure-rate", "0.02", "--json",
        ]

        let first = try Self.launch(common + ["--role", "consumer"])
        let producer = try Self.launch(common + ["--role", "producer"])
        // Let the first consumer handle part of the run, then kill it without warning.
        let started = await eventually(timeout: .seconds(30)) {
            (try? Self.acknowledged(url: server.url, "SIGHTLINE_orders", "billing")) ?? 0 > 300
        }
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        producer.process.waitUntilExit()

        let second = try Self.launch(common + ["--role", "consumer", "--idle-exit", "8"])
        second.process.waitUntilExit()
        let summary = try Self.lastJSONLine(second.output)

        var outstanding: [String: Int] = [:]
        for (stream, group) in Self.groups {
            outstanding[group] = try Self.outstanding(url: server.url, stream, group)
        }
        let connection = try NATSConnection(
            options: NATSConnectionOptions(servers: [server.url]), logger: .disabled)
        defer { connection.close() }
        let letters = try await NATSDeadLetterStore(connection: connection).list(.all)

        #expect(started)
        #expect(first.process.terminationReason == .uncaughtSignal)
        #expect(producer.process.terminationStatus == 0)
        #expect(second.process.terminationStatus == 0)
        // Nothing waits or is unacknowledged on the server: every order was acknowledged
        // after a successful handling or dead-lettered.
        #expect(outstanding == ["billing": 0, "shipping": 0, "analytics": 0, "credit": 0])
        // Only the zero-value orders are dead letters (2 orders × 3 groups in this slice).
        #expect(letters.count == 6)
        #expect(
            letters.allSatisfy { $0.reason == .invalidMessage },
            "\(letters.map { "\($0.group) \($0.reason) \($0.errorDescription)" })")
        let delivered = summary["delivered"] as? [String: Int] ?? [:]
        #expect((delivered["billing"] ?? 0) > 0)
        #expect((delivered["billing"] ?? 0) < 2997)
    }

    // MARK: Helpers

    struct Launched {
        var process: Process
        var output: Pipe
    }

    static func launch(_ arguments: [String]) throws -> Launched {
        let process = Process()
        process.executableURL = try sightlineBinary()
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        return Launched(process: process, output: output)
    }

    static func lastJSONLine(_ pipe: Pipe) throws -> [String: Any] {
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        let line = try #require(String(decoding: data, as: UTF8.self).split(separator: "\n").last)
        return try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    /// Pending plus unacknowledged messages over a group's partition consumers, read with
    /// cnats directly (binding a transport would start pulling).
    static func outstanding(url: String, _ stream: String, _ group: String) throws -> Int {
        try consumerSum(url: url, stream, group) { Int($0.NumPending) + Int($0.NumAckPending) }
    }

    static func acknowledged(url: String, _ stream: String, _ group: String) throws -> Int {
        try consumerSum(url: url, stream, group) { Int($0.AckFloor.Consumer) }
    }

    static func consumerSum(
        url: String, _ stream: String, _ group: String, _ value: (jsConsumerInfo) -> Int
    ) throws -> Int {
        var connection: OpaquePointer?
        guard natsConnection_ConnectTo(&connection, url) == NATS_OK, let connection else {
            throw NATSError(.connectionFailed, url)
        }
        defer { natsConnection_Destroy(connection) }
        var context: OpaquePointer?
        guard natsConnection_JetStream(&context, connection, nil) == NATS_OK, let context else {
            throw NATSError(.connectionFailed, "jetstream")
        }
        defer { jsCtx_Destroy(context) }
        var total = 0
        for partition in 0..<NATSTransportConfiguration().partitions {
            var info: UnsafeMutablePointer<jsConsumerInfo>?
            let name = NATSNames.consumer(group: group, partition: partition)
            guard js_GetConsumerInfo(&info, context, stream, name, nil, nil) == NATS_OK,
                let info
            else { throw NATSError(.requestFailed, "\(stream)/\(name)") }
            total += value(info.pointee)
            jsConsumerInfo_Destroy(info)
        }
        return total
    }

    static func cdnowPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["SIGHTLINE_CDNOW"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent(".cache/cdnow/CDNOW_master.txt").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw NATSError(
                .invalidConfiguration,
                "the CDNOW log is missing: run scripts/fetch-cdnow (scripts/test does)")
        }
        return path
    }

    static func sightlineBinary() throws -> URL {
        let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/sightline")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw NATSError(
                .invalidConfiguration, "the sightline executable is not built: run swift build")
        }
        return binary
    }
}
