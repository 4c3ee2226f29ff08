import Foundation
import Sightline
import Synchronization

/// `sightline bench inproc`: publish-to-handled throughput and latency of the in-process
/// bus, next to the simplest bounded queue moving the same messages in the same run.
enum InprocBenchmark {
    static let usage = """
        usage: sightline bench inproc [--messages N] [--runs R] [--only NAME] [--json]
          --messages N   messages per run (default 200000)
          --runs R       runs per scenario; the median is reported (default 3)
          --only ID      run only one scenario besides the baseline, for profiling:
                         bus, bus-4-groups, tracing-100, tracing-10 or metrics
          --json         print one JSON object as the last line

        "CPU µs/msg" is the process's CPU time (all threads) over the run, per handled
        message: less sensitive than throughput to other load on the machine.
        "peak RSS" is the process's peak resident memory when the scenario had finished;
        scenarios run one after another, so it only ever grows down the table.
        """

    struct Result: Codable {
        var scenario: String
        var groups: Int
        var messages: Int
        var seconds: Double
        var messagesPerSecond: Double
        /// CPU time of the whole process during the run, per handled message.
        var cpuMicrosecondsPerMessage: Double = 0
        var p50Microseconds: Double
        var p99Microseconds: Double
        var ratioToBaseline: Double?
        /// Throughput over the same bus's with tracing and metrics off, in the same run.
        var ratioToUntraced: Double?
        var spansExported: Int?
        var spansDropped: Int?
        /// The process's peak resident memory once the scenario had finished.
        var peakResidentBytes: Int = 0

        enum CodingKeys: String, CodingKey {
            case scenario, groups, messages, seconds
            case peakResidentBytes = "peak_resident_bytes"
            case cpuMicrosecondsPerMessage = "cpu_us_per_message"
            case ratioToUntraced = "ratio_to_untraced"
            case spansExported = "spans_exported"
            case spansDropped = "spans_dropped"
            case messagesPerSecond = "messages_per_second"
            case p50Microseconds = "p50_us"
            case p99Microseconds = "p99_us"
            case ratioToBaseline = "ratio_to_baseline"
        }
    }

    /// What a bus run records besides handling messages.
    enum Instrumentation {
        case none
        /// Spans for every publish and delivery, sampled at `ratio`, handed to an exporter
        /// that counts and discards them (so the figure is the bus's own tracing cost).
        case tracing(ratio: Double)
        case metrics
    }

    static func run(_ words: [String]) async throws -> Int32 {
        let arguments = try CommandArguments(
            words, switchNames: ["--json"], valueNames: ["--messages", "--runs", "--only"])
        try arguments.requireNoPositional()
        let messages = try arguments.int("--messages", range: 1000...100_000_000) ?? 200_000
        let runs = try arguments.int("--runs", range: 1...50) ?? 3
        let only = arguments.string("--only")

        let scenarios: [(id: String, name: String, groups: Int, Instrumentation)] = [
            ("bus", "sightline", 1, .none),
            ("bus-4-groups", "sightline", 4, .none),
            ("tracing-100", "sightline, tracing 100%", 1, .tracing(ratio: 1)),
            ("tracing-10", "sightline, tracing 10%", 1, .tracing(ratio: 0.1)),
            ("metrics", "sightline, metrics", 1, .metrics),
        ]
        if let only, !scenarios.contains(where: { $0.id == only }) {
            throw UsageError(message: "unknown scenario '\(only)'\n\(usage)")
        }

        var baseline = try await median(runs) { try await runBaseline(messages: messages) }
        baseline.peakResidentBytes = ProcessResources.peakResidentBytes()
        var results = [baseline]
        var untraced: [Int: Double] = [:]
        for (id, name, groups, instrumentation) in scenarios {
            if let only, id != only { continue }
            var result = try await median(runs) {
                try await runBus(
                    name: name, messages: messages, groups: groups,
                    instrumentation: instrumentation)
            }
            result.ratioToBaseline = result.messagesPerSecond / baseline.messagesPerSecond
            if case .none = instrumentation {
                untraced[groups] = result.messagesPerSecond
            } else if let plain = untraced[groups] {
                result.ratioToUntraced = result.messagesPerSecond / plain
            }
            result.peakResidentBytes = ProcessResources.peakResidentBytes()
            results.append(result)
        }

        if arguments.has("--json") {
            let report = BenchReport(
                benchmark: "inproc", cores: ProcessInfo.processInfo.activeProcessorCount,
                runs: runs, results: results)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            printTable(results, runs: runs)
        }
        return 0
    }

    struct BenchReport: Codable {
        var benchmark: String
        var cores: Int
        var runs: Int
        var results: [Result]
    }

    private static func median(_ runs: Int, _ body: () async throws -> Result) async rethrows
        -> Result
    {
        var results: [Result] = []
        for _ in 0..<runs { results.append(try await body()) }
        return results.sorted { $0.messagesPerSecond < $1.messagesPerSecond }[runs / 2]
    }

    // MARK: Scenarios

    struct BenchEvent: Event {
        static let messageType = "bench.Event"
        var sequence: Int
        var sentAtNanos: Int64
    }

    private static func runBus(
        name: String, messages: Int, groups: Int, instrumentation: Instrumentation
    ) async throws -> Result {
        var configuration = BusConfiguration(logger: .disabled)
        let exporter = CountingSpanExporter()
        switch instrumentation {
        case .none:
            break
        case .tracing(let ratio):
            var tracing = TracingConfiguration()
            tracing.sampler = .parentBasedTraceIDRatio
            tracing.samplerRatio = ratio
            configuration.tracer = Tracer(
                configuration: tracing, exporter: exporter, logger: .disabled)
        case .metrics:
            configuration.metrics = try BusMetrics(registry: MetricsRegistry())
        }
        let bus = Bus(configuration: configuration)
        let latencies = LatencyRecorder(capacity: messages * groups)
        let origin = ContinuousClock.now
        for index in 0..<groups {
            try await bus.subscribe(
                to: BenchEvent.self, group: "group-\(index)",
                options: SubscriptionOptions(capacity: 1024)
            ) { event, _ in
                latencies.record((ContinuousClock.now - origin).nanoseconds - event.sentAtNanos)
            }
        }

        let started = ContinuousClock.now
        let cpuBefore = ProcessResources.cpuSeconds()
        for sequence in 0..<messages {
            let sentAt = (ContinuousClock.now - origin).nanoseconds
            try await bus.publish(BenchEvent(sequence: sequence, sentAtNanos: sentAt))
        }
        _ = await bus.shutdown(deadline: .seconds(600))
        let elapsed = (ContinuousClock.now - started).seconds
        let cpu = ProcessResources.cpuSeconds() - cpuBefore
        await configuration.tracer.shutdown(deadline: .now + .seconds(30))

        var result = latencies.result(
            scenario: name, groups: groups, messages: messages * groups, seconds: elapsed)
        result.cpuMicrosecondsPerMessage = cpu * 1e6 / Double(messages * groups)
        if case .tracing = instrumentation {
            let statistics = configuration.tracer.statistics
            result.spansExported = statistics.exported
            result.spansDropped = statistics.dropped
        }
        return result
    }

    private static func runBaseline(messages: Int) async throws -> Result {
        let queue = BaselineQueue<(Int, Int64)>(capacity: 1024)
        let latencies = LatencyRecorder(capacity: messages)
        let origin = ContinuousClock.now

        let started = ContinuousClock.now
        let cpuBefore = ProcessResources.cpuSeconds()
        let consumer = Task {
            while let (_, sentAt) = await queue.pop() {
                latencies.record((ContinuousClock.now - origin).nanoseconds - sentAt)
            }
        }
        for sequence in 0..<messages {
            await queue.push((sequence, (ContinuousClock.now - origin).nanoseconds))
        }
        queue.finish()
        await consumer.value
        let elapsed = (ContinuousClock.now - started).seconds
        let cpu = ProcessResources.cpuSeconds() - cpuBefore

        var result = latencies.result(
            scenario: "baseline: Mutex ring buffer", groups: 1, messages: messages,
            seconds: elapsed)
        result.cpuMicrosecondsPerMessage = cpu * 1e6 / Double(messages)
        return result
    }

    private static func printTable(_ results: [Result], runs: Int) {
        print(
            "sightline bench inproc: \(ProcessInfo.processInfo.activeProcessorCount) cores, "
                + "median of \(runs) run(s)")
        let header =
            "scenario                        groups   messages    msgs/s  CPU µs/msg    p50 µs"
            + "    p99 µs  vs baseline  vs untraced   peak RSS  spans kept/dropped"
        print(header)
        for result in results {
            let name = result.scenario.padding(toLength: 30, withPad: " ", startingAt: 0)
            var line = String(
                format: "%@ %7d %10d %9.0f %11.2f %9.1f %9.1f %12.2f", name, result.groups,
                result.messages, result.messagesPerSecond, result.cpuMicrosecondsPerMessage,
                result.p50Microseconds, result.p99Microseconds, result.ratioToBaseline ?? 1)
            line += result.ratioToUntraced.map { String(format: " %12.2f", $0) } ?? "            -"
            line += String(format: " %7.1f MB", Double(result.peakResidentBytes) / 1_048_576)
            if let exported = result.spansExported, let dropped = result.spansDropped {
                line += "  \(exported)/\(dropped)"
            }
            print(line)
        }
    }
}

/// Counts exported spans and discards them.
final class CountingSpanExporter: SpanExporter {
    private let count = Atomic<Int>(0)

    func export(_ spans: [SpanData], resource: TracingResource) async -> SpanExportResult {
        count.add(spans.count, ordering: .relaxed)
        return .success(rejected: 0)
    }

    func forceFlush(deadline: ContinuousClock.Instant) async {}

    func shutdown(deadline: ContinuousClock.Instant) async {}
}

/// Collects latencies from many tasks into one preallocated buffer.
final class LatencyRecorder: Sendable {
    private let samples: Mutex<[Int64]>

    init(capacity: Int) {
        var initial: [Int64] = []
        initial.reserveCapacity(capacity)
        samples = Mutex(initial)
    }

    func record(_ nanoseconds: Int64) {
        samples.withLock { $0.append(nanoseconds) }
    }

    func result(scenario: String, groups: Int, messages: Int, seconds: Double)
        -> InprocBenchmark.Result
    {
        let sorted = samples.withLock { $0.sorted() }
        func percentile(_ share: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = min(sorted.count - 1, Int(Double(sorted.count) * share))
            return Double(sorted[index]) / 1000
        }
        return InprocBenchmark.Result(
            scenario: scenario, groups: groups, messages: messages, seconds: seconds,
            messagesPerSecond: Double(messages) / seconds, p50Microseconds: percentile(0.5),
            p99Microseconds: percentile(0.99), ratioToBaseline: nil)
    }
}

/// The simplest bounded async queue: a `Mutex`-guarded ring buffer with one waiting
/// producer and one waiting consumer continuation.
final class BaselineQueue<Element: Sendable>: Sendable {
    private struct State {
        var buffer: [Element?]
        var head = 0
        var count = 0
        var finished = false
        var waitingProducer: CheckedContinuation<Void, Never>?
        var waitingConsumer: CheckedContinuation<Element?, Never>?
    }

    private let state: Mutex<State>
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        self.state = Mutex(State(buffer: Array(repeating: nil, count: capacity)))
    }

    private enum PushOutcome {
        case stored(CheckedContinuation<Element?, Never>?)
        case full
    }

    func push(_ element: Element) async {
        while true {
            let outcome = state.withLock { state -> PushOutcome in
                if let consumer = state.waitingConsumer {
                    state.waitingConsumer = nil
                    return .stored(consumer)
                }
                guard state.count < capacity else { return .full }
                state.buffer[(state.head + state.count) % capacity] = element
                state.count += 1
                return .stored(nil)
            }
            if case .stored(let consumer) = outcome {
                consumer?.resume(returning: element)
                return
            }

            // Full: wait until the consumer takes something, then try again.
            await withCheckedContinuation { continuation in
                let hasRoom = state.withLock { state -> Bool in
                    if state.count < capacity { return true }
                    state.waitingProducer = continuation
                    return false
                }
                if hasRoom { continuation.resume() }
            }
        }
    }

    func pop() async -> Element? {
        await withCheckedContinuation { continuation in
            let outcome = state.withLock {
                state -> (Element??, CheckedContinuation<Void, Never>?) in
                if state.count > 0 {
                    let element = state.buffer[state.head]
                    state.buffer[state.head] = nil
                    state.head = (state.head + 1) % capacity
                    state.count -= 1
                    let producer = state.waitingProducer
                    state.waitingProducer = nil
                    return (.some(element), producer)
                }
                if state.finished { return (.some(nil), nil) }
                state.waitingConsumer = continuation
                return (.none, nil)
            }
            outcome.1?.resume()
            if case .some(let element) = outcome.0 { continuation.resume(returning: element) }
        }
    }

    func finish() {
        let consumer = state.withLock { state in
            state.finished = true
            defer { state.waitingConsumer = nil }
            return state.waitingConsumer
        }
        consumer?.resume(returning: nil)
    }
}
