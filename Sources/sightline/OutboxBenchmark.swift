import Foundation
import Sightline
import SightlineSQLite
import Synchronization

/// `sightline bench outbox`: messages staged in SQLite units of work (WAL) and relayed to a
/// subscriber, per second, against the same bus publishing directly, in one run.
enum OutboxBenchmark {
    static let usage = """
        usage: sightline bench outbox [--messages N] [--per-unit K] [--runs R]
                                      [--synchronous normal|full] [--directory DIR] [--json]
          --messages N      messages per run (default 20000)
          --per-unit K      messages staged per unit of work, i.e. per transaction (default 1)
          --runs R          runs per scenario; the median is reported (default 3)
          --synchronous S   SQLite's synchronous setting in WAL mode (default normal)
          --directory DIR   where the store files go (default: a temporary directory)
          --json            print one JSON object as the last line
        Each outbox message is staged in a unit of work that also inserts a row of its own,
        then published by the relay to one queued subscriber group; time runs from the
        first stage (or publish) until the subscriber handled the last message.
        """

    struct Result: Codable {
        var scenario: String
        var messages: Int
        var perUnit: Int?
        var seconds: Double
        var messagesPerSecond: Double
        var ratioToDirect: Double?

        enum CodingKeys: String, CodingKey {
            case scenario, messages, seconds
            case perUnit = "per_unit"
            case messagesPerSecond = "messages_per_second"
            case ratioToDirect = "ratio_to_direct"
        }
    }

    struct BenchOrderPlaced: Event {
        static let messageType = "bench.OrderPlaced"
        static let channel = "bench-orders"

        var orderID: Int
    }

    static func run(_ words: [String]) async throws -> Int32 {
        let arguments = try CommandArguments(
            words, switchNames: ["--json"],
            valueNames: ["--messages", "--per-unit", "--runs", "--synchronous", "--directory"])
        try arguments.requireNoPositional()
        let messages = try arguments.int("--messages", range: 100...10_000_000) ?? 20_000
        let perUnit = try arguments.int("--per-unit", range: 1...10_000) ?? 1
        let runs = try arguments.int("--runs", range: 1...50) ?? 3
        let synchronous: SQLiteStoreConfiguration.Synchronous
        switch arguments.string("--synchronous") ?? "normal" {
        case "normal": synchronous = .normal
        case "full": synchronous = .full
        case let other:
            throw UsageError(message: "--synchronous must be normal or full, got '\(other)'")
        }
        let directory = URL(
            fileURLWithPath: arguments.string("--directory")
                ?? FileManager.default.temporaryDirectory
                .appendingPathComponent("sightline-bench-outbox-\(UUID().uuidString)").path)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer {
            if arguments.string("--directory") == nil {
                try? FileManager.default.removeItem(at: directory)
            }
        }

        let direct = try await median(runs) { _ in try await runDirect(messages: messages) }
        var outbox = try await median(runs) { run in
            let path = directory.appendingPathComponent("outbox-\(run).db").path
            return try await runOutbox(
                messages: messages, perUnit: perUnit, path: path, synchronous: synchronous)
        }
        outbox.ratioToDirect = outbox.messagesPerSecond / direct.messagesPerSecond
        let results = [direct, outbox]

        if arguments.has("--json") {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let report = ResultsWithMemory(
                results: results, peakResidentBytes: ProcessResources.peakResidentBytes())
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(
                "sightline bench outbox: \(messages) messages, \(perUnit) per unit of work, "
                    + "synchronous=\(synchronous.rawValue), median of \(runs) run(s)")
            for result in results {
                let name = result.scenario.padding(toLength: 28, withPad: " ", startingAt: 0)
                let ratio = result.ratioToDirect.map { String(format: "  ratio %.3f", $0) } ?? ""
                print(
                    name
                        + String(
                            format: "%10.0f msg/s  %7.3f s", result.messagesPerSecond,
                            result.seconds) + ratio)
            }
        }
        if !arguments.has("--json") {
            print(
                "peak resident memory "
                    + ProcessResources.megabytes(ProcessResources.peakResidentBytes()))
        }
        return 0
    }

    private static func median(_ runs: Int, _ body: (Int) async throws -> Result)
        async throws -> Result
    {
        var results: [Result] = []
        for run in 0..<runs {
            results.append(try await body(run))
        }
        results.sort { $0.messagesPerSecond < $1.messagesPerSecond }
        return results[results.count / 2]
    }

    // MARK: Scenarios

    /// A bus with one queued group that counts what it handled and reports the last one.
    private static func makeBus(messages: Int) async throws -> (Bus, AsyncStream<Void>) {
        let bus = Bus(configuration: BusConfiguration(logger: .disabled))
        let (done, finish) = AsyncStream<Void>.makeStream()
        let handled = Atomic(0)
        try await bus.subscribe(
            to: BenchOrderPlaced.self, group: "bench",
            options: SubscriptionOptions(capacity: 8192)
        ) { _, _ in
            if handled.add(1, ordering: .relaxed).newValue == messages {
                finish.yield()
                finish.finish()
            }
        }
        return (bus, done)
    }

    private static func runDirect(messages: Int) async throws -> Result {
        let (bus, done) = try await makeBus(messages: messages)
        let started = ContinuousClock.now
        for number in 0..<messages {
            try await bus.publish(BenchOrderPlaced(orderID: number))
        }
        for await _ in done { break }
        let seconds = (ContinuousClock.now - started).seconds
        _ = await bus.shutdown(deadline: .seconds(10))
        return Result(
            scenario: "publish directly", messages: messages, seconds: seconds,
            messagesPerSecond: Double(messages) / seconds)
    }

    private static func runOutbox(
        messages: Int, perUnit: Int, path: String,
        synchronous: SQLiteStoreConfiguration.Synchronous
    ) async throws -> Result {
        let store = try await SQLiteStore.open(
            path: path,
            configuration: SQLiteStoreConfiguration(synchronous: synchronous, logger: .disabled))
        try await store.unitOfWork { uow in
            try uow.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
        }
        let (bus, done) = try await makeBus(messages: messages)
        let relay = OutboxRelay(
            store: store, bus: bus, configuration: OutboxRelayConfiguration(logger: .disabled))
        relay.start()

        let started = ContinuousClock.now
        var next = 0
        while next < messages {
            let numbers = next..<min(messages, next + perUnit)
            let envelopes = try numbers.map { try bus.envelope(for: BenchOrderPlaced(orderID: $0)) }
            try await store.unitOfWork { uow in
                for (number, envelope) in zip(numbers, envelopes) {
                    try uow.execute("INSERT INTO orders (id) VALUES (?)", [.integer(Int64(number))])
                    try uow.stage(envelope)
                }
            }
            next = numbers.upperBound
        }
        for await _ in done { break }
        let seconds = (ContinuousClock.now - started).seconds

        await relay.stop()
        _ = await bus.shutdown(deadline: .seconds(10))
        await store.close()
        return Result(
            scenario: "outbox (SQLite WAL)", messages: messages, perUnit: perUnit,
            seconds: seconds, messagesPerSecond: Double(messages) / seconds)
    }
}
