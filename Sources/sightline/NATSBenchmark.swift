import CNATS
import Foundation
import Sightline
import SightlineNATS
import Synchronization

/// `sightline bench nats`: publish-to-handled throughput and latency over a local JetStream
/// server, for Sightline and for a minimal program on the raw C client moving the same
/// messages in the same run, so that Sightline's overhead is a ratio.
///
/// Both sides publish one message at a time and wait for JetStream's acknowledgement, and
/// consume through durable pull consumers with explicit acknowledgement.
///
/// Not yet: only with tracing off; the tracer lives on another branch, and the run with
/// tracing on is added when it is merged.
enum NATSBenchmark {
    static let usage = """
        usage: sightline bench nats [--url nats://HOST:PORT] [--messages N] [--json]
          --url URL      a JetStream server to use (default: start nats-server on a free port
                         with a temporary directory, and stop it afterwards)
          --messages N   messages per scenario (default 20000)
          --json         print one JSON object as the last line
        """

    static func run(_ words: [String]) async throws -> Int32 {
        let arguments = try CommandArguments(
            words, switchNames: ["--json"], valueNames: ["--url", "--messages"])
        let messages = try arguments.int("--messages", range: 100...10_000_000) ?? 20_000
        let server = try arguments.string("--url").map { ($0, nil as Process?) } ?? startServer()
        defer {
            if let process = server.1 {
                process.terminate()
                process.waitUntilExit()
            }
        }

        let raw = try await onOwnThread { try runRaw(url: server.0, messages: messages) }
        var results = [raw]
        for ordered in [true, false] {
            var result = try await runSightline(url: server.0, messages: messages, ordered: ordered)
            result.ratioToBaseline = result.messagesPerSecond / raw.messagesPerSecond
            results.append(result)
        }

        if arguments.has("--json") {
            let report = InprocBenchmark.BenchReport(
                benchmark: "nats", cores: ProcessInfo.processInfo.activeProcessorCount, runs: 1,
                results: results)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("sightline bench nats: \(messages) messages per scenario, tracing off")
            for result in results {
                let ratio = result.ratioToBaseline.map { String(format: "%.2f", $0) } ?? "1.00"
                let name = result.scenario.padding(toLength: 30, withPad: " ", startingAt: 0)
                let figures = String(
                    format: "%9.0f msg/s  p50 %8.0f µs  p99 %8.0f µs  ratio ",
                    result.messagesPerSecond, result.p50Microseconds, result.p99Microseconds)
                print("  " + name + figures + ratio)
            }
        }
        return 0
    }

    // MARK: Sightline

    private static func runSightline(url: String, messages: Int, ordered: Bool) async throws
        -> InprocBenchmark.Result
    {
        ordered
            ? try await runSightline(OrderedPayment.self, url: url, messages: messages)
            : try await runSightline(UnorderedPayment.self, url: url, messages: messages)
    }

    private static func runSightline<E: BenchPayment>(
        _ type: E.Type, url: String, messages: Int
    ) async throws -> InprocBenchmark.Result {
        let ordered = E.self == OrderedPayment.self
        let connection = try await onOwnThread {
            try NATSConnection(
                options: NATSConnectionOptions(servers: [url], name: "sightline-bench"),
                logger: .disabled)
        }
        defer { connection.close() }
        let transport = try NATSTransport(
            connection: connection,
            configuration: NATSTransportConfiguration(
                orderedPartitions: ordered, defaultStream: NATSStreamSettings(storage: .file),
                defaultStart: .newOnly))
        let bus = Bus(
            configuration: BusConfiguration(
                transport: transport, deadLetterStore: transport.deadLetterStore,
                logger: .disabled))
        let recorder = LatencyRecorder(capacity: messages)
        let handled = Atomic<Int>(0)
        let group = ordered ? "ordered" : "unordered"
        try await bus.subscribe(
            to: E.self, group: group,
            options: SubscriptionOptions(concurrency: 8, capacity: 1024)
        ) { payment, _ in
            recorder.record(DispatchTime.now().uptimeNanoseconds.asInt64 - payment.sentNanos)
            handled.add(1, ordering: .relaxed)
        }

        let started = DispatchTime.now().uptimeNanoseconds
        for index in 0..<messages {
            let payment = E(
                sentNanos: DispatchTime.now().uptimeNanoseconds.asInt64, key: "k\(index % 64)")
            try await bus.publish(payment)
        }
        while handled.load(ordering: .relaxed) < messages {
            try await Task.sleep(for: .milliseconds(1))
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        _ = await bus.shutdown(deadline: .seconds(5))
        return recorder.result(
            scenario: ordered ? "sightline, ordered partitions" : "sightline, unordered",
            groups: 1, messages: messages, seconds: seconds)
    }

    // MARK: Raw cnats

    /// One publisher and one consumer on the raw C client: synchronous publishes, fetches
    /// of up to 64 messages, asynchronous acknowledgements. Blocks.
    private static func runRaw(url: String, messages: Int) throws -> InprocBenchmark.Result {
        var connection: OpaquePointer?
        guard natsConnection_ConnectTo(&connection, url) == NATS_OK, let connection else {
            throw NATSError(.connectionFailed, "cannot connect to \(url)")
        }
        defer { natsConnection_Destroy(connection) }
        var context: OpaquePointer?
        guard natsConnection_JetStream(&context, connection, nil) == NATS_OK, let context else {
            throw NATSError(.connectionFailed, "no JetStream context")
        }
        defer { jsCtx_Destroy(context) }
        try createRawStreamAndConsumer(context)

        var subscription: OpaquePointer?
        var options = jsSubOptions()
        jsSubOptions_Init(&options)
        let status = "BENCH_RAW".withCString { stream in
            "raw".withCString { consumer in
                options.Stream = stream
                options.Consumer = consumer
                options.ManualAck = true
                return js_PullSubscribe(
                    &subscription, context, "bench.raw", consumer, nil, &options, nil)
            }
        }
        guard status == NATS_OK, let subscription else {
            throw NATSError.init(.setupFailed, "cannot bind the raw consumer")
        }
        defer { natsSubscription_Destroy(subscription) }

        let recorder = LatencyRecorder(capacity: messages)
        let consumed = Atomic<Int>(0)
        let box = PointerBox(subscription: subscription)
        let consumer = Thread {
            while consumed.load(ordering: .relaxed) < messages {
                var list = natsMsgList()
                guard natsSubscription_Fetch(&list, box.subscription, 64, 500, nil) == NATS_OK
                else { continue }
                for index in 0..<Int(list.Count) {
                    guard let message = list.Msgs[index] else { continue }
                    var sent: Int64 = 0
                    if let data = natsMsg_GetData(message), natsMsg_GetDataLength(message) >= 8 {
                        memcpy(&sent, data, 8)
                    }
                    recorder.record(DispatchTime.now().uptimeNanoseconds.asInt64 - sent)
                    natsMsg_Ack(message, nil)
                    consumed.add(1, ordering: .relaxed)
                }
                natsMsgList_Destroy(&list)
            }
        }
        consumer.start()

        let started = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<messages {
            var sent = DispatchTime.now().uptimeNanoseconds.asInt64
            var ack: UnsafeMutablePointer<jsPubAck>?
            let published = withUnsafeBytes(of: &sent) { bytes in
                js_Publish(&ack, context, "bench.raw", bytes.baseAddress, 8, nil, nil)
            }
            if let ack { jsPubAck_Destroy(ack) }
            guard published == NATS_OK else {
                throw NATSError(.publishFailed, "raw publish failed with status \(published)")
            }
        }
        while consumed.load(ordering: .relaxed) < messages {
            Thread.sleep(forTimeInterval: 0.001)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return recorder.result(
            scenario: "raw cnats", groups: 1, messages: messages, seconds: seconds)
    }

    private static func createRawStreamAndConsumer(_ context: OpaquePointer) throws {
        var subjects: [UnsafePointer<CChar>?] = [UnsafePointer(strdup("bench.raw"))]
        defer { free(UnsafeMutablePointer(mutating: subjects[0])) }
        var config = jsStreamConfig()
        jsStreamConfig_Init(&config)
        var status = "BENCH_RAW".withCString { name in
            subjects.withUnsafeMutableBufferPointer { buffer in
                config.Name = name
                config.Subjects = buffer.baseAddress
                config.SubjectsLen = 1
                config.Storage = js_FileStorage
                return js_AddStream(nil, context, &config, nil, nil)
            }
        }
        guard status == NATS_OK else {
            throw NATSError(.setupFailed, "cannot create BENCH_RAW (status \(status))")
        }
        var consumer = jsConsumerConfig()
        jsConsumerConfig_Init(&consumer)
        status = "raw".withCString { name in
            consumer.Durable = name
            consumer.AckPolicy = js_AckExplicit
            consumer.DeliverPolicy = js_DeliverNew
            consumer.MaxAckPending = 1024
            return js_AddConsumer(nil, context, "BENCH_RAW", &consumer, nil, nil)
        }
        guard status == NATS_OK else {
            throw NATSError(.setupFailed, "cannot create the raw consumer (status \(status))")
        }
    }

    // MARK: Helpers

    private static func startServer() throws -> (String, Process?) {
        let candidates = [
            "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server",
        ]
        guard let binary = candidates.first(where: FileManager.default.isExecutableFile) else {
            throw UsageError(message: "nats-server is not installed; pass --url")
        }
        let port = Int.random(in: 20_000...60_000)
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sightline-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-js", "-sd", directory.path, "-a", "127.0.0.1", "-p", String(port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: 0.5)
        return ("nats://127.0.0.1:\(port)", process)
    }

    private static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T)
        async throws -> T
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}

/// The benchmark's events: one channel per scenario.
protocol BenchPayment: Event {
    init(sentNanos: Int64, key: String)
    var sentNanos: Int64 { get }
}

struct OrderedPayment: BenchPayment {
    static let messageType = "bench.OrderedPayment"
    static let channel = "bench.ordered"
    var sentNanos: Int64
    var key: String
    var partitionKey: String? { key }
}

struct UnorderedPayment: BenchPayment {
    static let messageType = "bench.UnorderedPayment"
    static let channel = "bench.unordered"
    var sentNanos: Int64
    var key: String
    var partitionKey: String? { key }
}

/// The raw consumer's subscription, used by its one thread only.
private struct PointerBox: @unchecked Sendable {
    // Created before the thread starts and destroyed after it ended.
    let subscription: OpaquePointer
}

extension UInt64 {
    fileprivate var asInt64: Int64 { Int64(truncatingIfNeeded: self) }
}
