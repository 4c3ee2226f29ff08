import CNATS
import Foundation
import Sightline
import SightlineNATS
import Synchronization

/// `sightline bench nats`: publish-to-handled throughput and latency over a local JetStream
/// server, for Sightline and for a minimal program on the raw C client moving messages in
/// the same run, so that Sightline's overhead is a ratio.
///
/// Both sides publish and consume at once. Both keep at most `--window` publishes awaiting
/// JetStream's acknowledgement: the raw program through the client's asynchronous publish
/// (`js_PublishAsync` with `MaxPending`), Sightline through that many tasks each awaiting
/// `publish` (which returns once JetStream acknowledged). Both consume through durable pull
/// consumers with explicit acknowledgement, fetching what is available in batches.
///
/// The traced scenario samples 10% of traces and hands the spans to an exporter that counts
/// and discards them, so the figure is the bus's own tracing cost, not a collector's.
///
/// Each scenario also reports the CPU time the process spent per message, all threads
/// included: on a loaded machine it says more than the throughput what a message costs.
///
/// Not yet: Sightline reaches about a third of the raw client here. The process is
/// CPU-bound at several times the raw client's CPU per message: the raw program carries an
/// 8-byte body and no headers, Sightline a JSON payload and the envelope's header form.
/// A profile puts the rest in the core's JSON payload coding and envelope handling, and in
/// the client's work per header (a hash-table entry and allocations for each header, on
/// both sides, and freeing them with the message).
enum NATSBenchmark {
    static let usage = """
        usage: sightline bench nats [--url nats://HOST:PORT] [--messages N] [--window W]
                                    [--only NAMES] [--json]
          --url URL      a JetStream server to use (default: start nats-server on a free port
                         with a temporary directory, and stop it afterwards)
          --messages N   messages per scenario (default 20000)
          --window W     publishes awaiting acknowledgement at once, on both sides
                         (default 256)
          --only NAMES   run only these scenarios, comma-separated, of raw, unordered,
                         traced, ordered (for profiling one of them)
          --json         print one JSON object as the last line
        """

    /// One Sightline run: its event type (hence channel) and what it records.
    private struct Scenario {
        var key: String
        var name: String
        var ordered: Bool
        var tracingRatio: Double?
    }

    /// The JSON form of a run.
    struct Report: Encodable {
        var benchmark: String
        var cores: Int
        var messages: Int
        var window: Int
        var results: [Row]
        var peakResidentBytes: Int
        var cpuSeconds: Double

        enum CodingKeys: String, CodingKey {
            case benchmark, cores, messages, window, results
            case peakResidentBytes = "peak_resident_bytes"
            case cpuSeconds = "cpu_seconds"
        }
    }

    /// One scenario's result and the CPU time this process spent per message on it (all
    /// threads: publishing, the client's I/O, consuming), the figure that says what a
    /// message costs regardless of how loaded the machine is.
    struct Row: Encodable {
        var result: InprocBenchmark.Result
        var cpuMicrosecondsPerMessage: Double

        enum CodingKeys: String, CodingKey {
            case cpuMicrosecondsPerMessage = "cpu_us_per_message"
        }

        func encode(to encoder: any Encoder) throws {
            try result.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(cpuMicrosecondsPerMessage, forKey: .cpuMicrosecondsPerMessage)
        }
    }

    /// Runs `body` and adds its result with the CPU time spent per message meanwhile.
    private static func measured(
        _ messages: Int, _ body: () async throws -> InprocBenchmark.Result
    ) async rethrows -> Row {
        let before = ProcessResources.cpuSeconds()
        let result = try await body()
        let seconds = ProcessResources.cpuSeconds() - before
        return Row(result: result, cpuMicrosecondsPerMessage: seconds * 1e6 / Double(messages))
    }

    static func run(_ words: [String]) async throws -> Int32 {
        let arguments = try CommandArguments(
            words, switchNames: ["--json"],
            valueNames: ["--url", "--messages", "--window", "--only"])
        try arguments.requireNoPositional()
        let messages = try arguments.int("--messages", range: 100...10_000_000) ?? 20_000
        let window = try arguments.int("--window", range: 1...65_536) ?? 256
        let only = arguments.string("--only").map {
            Set($0.split(separator: ",").map(String.init))
        }
        let known: Set = ["raw", "unordered", "traced", "ordered"]
        if let unknown = only?.subtracting(known).sorted(), !unknown.isEmpty {
            throw UsageError(
                message: "--only names unknown scenarios \(unknown.joined(separator: ", ")); "
                    + "known: raw, unordered, traced, ordered")
        }
        let server = try arguments.string("--url").map { ($0, nil as Process?) } ?? startServer()
        defer {
            if let process = server.1 {
                process.terminate()
                process.waitUntilExit()
            }
        }

        var results: [Row] = []
        var raw: InprocBenchmark.Result?
        if only?.contains("raw") ?? true {
            let row = try await measured(messages) {
                try await onOwnThread {
                    try runRaw(url: server.0, messages: messages, window: window)
                }
            }
            raw = row.result
            results.append(row)
        }
        let scenarios = [
            Scenario(key: "unordered", name: "sightline, unordered", ordered: false),
            Scenario(
                key: "traced", name: "sightline, unordered, tracing 10%", ordered: false,
                tracingRatio: 0.1),
            Scenario(key: "ordered", name: "sightline, ordered partitions", ordered: true),
        ]
        for scenario in scenarios where only?.contains(scenario.key) ?? true {
            var row = try await measured(messages) {
                try await runSightline(scenario, url: server.0, messages: messages, window: window)
            }
            row.result.ratioToBaseline = raw.map {
                row.result.messagesPerSecond / $0.messagesPerSecond
            }
            results.append(row)
        }
        let peak = ProcessResources.peakResidentBytes()
        let cpu = ProcessResources.cpuSeconds()

        if arguments.has("--json") {
            let report = Report(
                benchmark: "nats", cores: ProcessInfo.processInfo.activeProcessorCount,
                messages: messages, window: window, results: results, peakResidentBytes: peak,
                cpuSeconds: cpu)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(
                "sightline bench nats: \(messages) messages per scenario, window \(window), "
                    + "\(ProcessInfo.processInfo.activeProcessorCount) cores")
            for row in results {
                let result = row.result
                let ratio =
                    result.ratioToBaseline.map { String(format: "%.2f", $0) }
                    ?? (result.scenario == "raw cnats" ? "1.00" : "-")
                let name = result.scenario.padding(toLength: 36, withPad: " ", startingAt: 0)
                var line =
                    "  " + name
                    + String(
                        format: "%9.0f msg/s  CPU %5.1f µs/msg  "
                            + "p50 %8.0f µs  p99 %8.0f µs  ratio ",
                        result.messagesPerSecond, row.cpuMicrosecondsPerMessage,
                        result.p50Microseconds, result.p99Microseconds) + ratio
                if let exported = result.spansExported, let dropped = result.spansDropped {
                    line += "  spans exported/dropped \(exported)/\(dropped)"
                }
                print(line)
            }
            print(
                "  peak resident memory \(ProcessResources.megabytes(peak)), "
                    + String(format: "CPU %.1f s", cpu))
        }
        return 0
    }

    // MARK: Sightline

    private static func runSightline(
        _ scenario: Scenario, url: String, messages: Int, window: Int
    ) async throws -> InprocBenchmark.Result {
        if scenario.ordered {
            return try await runSightline(
                OrderedPayment.self, scenario, url: url, messages: messages, window: window)
        }
        if scenario.tracingRatio != nil {
            return try await runSightline(
                TracedPayment.self, scenario, url: url, messages: messages, window: window)
        }
        return try await runSightline(
            UnorderedPayment.self, scenario, url: url, messages: messages, window: window)
    }

    private static func runSightline<E: BenchPayment>(
        _ type: E.Type, _ scenario: Scenario, url: String, messages: Int, window: Int
    ) async throws -> InprocBenchmark.Result {
        let connection = try await onOwnThread {
            try NATSConnection(
                options: NATSConnectionOptions(
                    servers: [url], name: "sightline-bench", publishWindow: window),
                logger: .disabled)
        }
        defer { connection.close() }
        let transport = try NATSTransport(
            connection: connection,
            configuration: NATSTransportConfiguration(
                orderedPartitions: scenario.ordered,
                defaultStream: NATSStreamSettings(storage: .file), defaultStart: .newOnly))
        let exporter = CountingSpanExporter()
        var configuration = BusConfiguration(
            transport: transport, deadLetterStore: transport.deadLetterStore, logger: .disabled)
        if let ratio = scenario.tracingRatio {
            var tracing = TracingConfiguration()
            tracing.sampler = .parentBasedTraceIDRatio
            tracing.samplerRatio = ratio
            configuration.tracer = Tracer(
                configuration: tracing, exporter: exporter, logger: .disabled)
        }
        let bus = Bus(configuration: configuration)
        let recorder = LatencyRecorder(capacity: messages)
        let handled = Atomic<Int>(0)
        try await bus.subscribe(
            to: E.self, group: "bench",
            options: SubscriptionOptions(concurrency: 8, capacity: 1024)
        ) { payment, _ in
            recorder.record(DispatchTime.now().uptimeNanoseconds.asInt64 - payment.sentNanos)
            handled.add(1, ordering: .relaxed)
        }

        // `window` publishers, each awaiting its publish's acknowledgement before the next.
        let started = DispatchTime.now().uptimeNanoseconds
        let next = IndexCounter()
        try await withThrowingTaskGroup(of: Void.self) { publishers in
            for _ in 0..<min(window, messages) {
                publishers.addTask {
                    while true {
                        let index = next.take()
                        guard index < messages else { return }
                        try await bus.publish(
                            E(
                                sentNanos: DispatchTime.now().uptimeNanoseconds.asInt64,
                                key: "k\(index % 64)"))
                    }
                }
            }
            try await publishers.waitForAll()
        }
        while handled.load(ordering: .relaxed) < messages {
            try await Task.sleep(for: .milliseconds(1))
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        _ = await bus.shutdown(deadline: .seconds(5))
        await configuration.tracer.shutdown(deadline: .now + .seconds(10))

        var result = recorder.result(
            scenario: scenario.name, groups: 1, messages: messages, seconds: seconds)
        if scenario.tracingRatio != nil {
            let statistics = configuration.tracer.statistics
            result.spansExported = statistics.exported
            result.spansDropped = statistics.dropped
        }
        return result
    }

    // MARK: Raw cnats

    /// One publisher thread and one consumer thread on the raw C client, running at once:
    /// asynchronous publishes with at most `window` awaiting acknowledgement, fetches of
    /// what is available (up to 256), acknowledgements without waiting. Blocks.
    private static func runRaw(url: String, messages: Int, window: Int) throws
        -> InprocBenchmark.Result
    {
        var connection: OpaquePointer?
        guard natsConnection_ConnectTo(&connection, url) == NATS_OK, let connection else {
            throw NATSError(.connectionFailed, "cannot connect to \(url)")
        }
        defer { natsConnection_Destroy(connection) }

        // The acknowledgement callback counts into `acks`, which outlives the context: the
        // context is destroyed only after every acknowledgement arrived.
        let acks = RawAcks()
        var options = jsOptions()
        jsOptions_Init(&options)
        options.PublishAsync.MaxPending = Int64(window)
        options.PublishAsync.StallWait = 10_000
        options.PublishAsync.AckHandlerClosure = Unmanaged.passUnretained(acks).toOpaque()
        options.PublishAsync.AckHandler = { _, message, _, failure, closure in
            if let closure {
                Unmanaged<RawAcks>.fromOpaque(closure).takeUnretainedValue()
                    .record(failed: failure != nil)
            }
            natsMsg_Destroy(message)
        }
        var context: OpaquePointer?
        guard natsConnection_JetStream(&context, connection, &options) == NATS_OK,
            let context
        else {
            throw NATSError(.connectionFailed, "no JetStream context")
        }
        defer { jsCtx_Destroy(context) }
        try createRawStreamAndConsumer(context)
        let subscription = try bindRawConsumer(context)
        defer { natsSubscription_Destroy(subscription) }

        let recorder = LatencyRecorder(capacity: messages)
        let consumed = Atomic<Int>(0)
        let box = PointerBox(subscription: subscription)
        let consumer = Thread {
            while consumed.load(ordering: .relaxed) < messages {
                var list = natsMsgList()
                guard fetchAvailable(&list, box.subscription, batch: 256) else { continue }
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
            let published = withUnsafeBytes(of: &sent) { bytes in
                js_PublishAsync(context, "bench.raw", bytes.baseAddress, 8, nil)
            }
            guard published == NATS_OK else {
                throw NATSError(.publishFailed, "raw publish failed with status \(published)")
            }
        }
        var complete = jsPubOptions()
        jsPubOptions_Init(&complete)
        complete.MaxWait = 30_000
        guard js_PublishAsyncComplete(context, &complete) == NATS_OK, acks.failed == 0 else {
            throw NATSError(.publishFailed, "\(acks.failed) raw publishes were not acknowledged")
        }
        while consumed.load(ordering: .relaxed) < messages {
            Thread.sleep(forTimeInterval: 0.001)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return recorder.result(
            scenario: "raw cnats", groups: 1, messages: messages, seconds: seconds)
    }

    /// Fetches what the consumer has, up to `batch`, without waiting for a full batch; when
    /// nothing is there, waits up to half a second for the first message. False when none
    /// came.
    private static func fetchAvailable(
        _ list: inout natsMsgList, _ subscription: OpaquePointer, batch: Int32
    ) -> Bool {
        // A no-wait pull with an expiry returns as soon as it has any message.
        var request = jsFetchRequest()
        jsFetchRequest_Init(&request)
        request.Batch = batch
        request.NoWait = true
        request.Expires = 500_000_000
        var status = natsSubscription_FetchRequest(&list, subscription, &request)
        if status == NATS_NOT_FOUND {
            // A server that answers "no messages" at once: wait for one message instead.
            jsFetchRequest_Init(&request)
            request.Batch = 1
            request.Expires = 500_000_000
            status = natsSubscription_FetchRequest(&list, subscription, &request)
        }
        return status == NATS_OK
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

    private static func bindRawConsumer(_ context: OpaquePointer) throws -> OpaquePointer {
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
            throw NATSError(.setupFailed, "cannot bind the raw consumer")
        }
        return subscription
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

struct TracedPayment: BenchPayment {
    static let messageType = "bench.TracedPayment"
    static let channel = "bench.traced"
    var sentNanos: Int64
    var key: String
    var partitionKey: String? { key }
}

/// Counts the raw publisher's acknowledgements, from the client's callback thread.
private final class RawAcks: Sendable {
    private let failures = Atomic<Int>(0)

    func record(failed: Bool) {
        if failed { failures.add(1, ordering: .relaxed) }
    }

    var failed: Int { failures.load(ordering: .relaxed) }
}

/// Hands out message indexes to the publishing tasks.
private final class IndexCounter: Sendable {
    private let next = Atomic<Int>(0)

    func take() -> Int { next.add(1, ordering: .relaxed).oldValue }
}

/// The raw consumer's subscription, used by its one thread only.
private struct PointerBox: @unchecked Sendable {
    // Created before the thread starts and destroyed after it ended.
    let subscription: OpaquePointer
}

extension UInt64 {
    fileprivate var asInt64: Int64 { Int64(truncatingIfNeeded: self) }
}
