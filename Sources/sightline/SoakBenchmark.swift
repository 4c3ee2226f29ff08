import Foundation
import Sightline
import SightlinePrometheus
import Synchronization

/// `sightline bench soak`: the in-process bus at full speed for minutes on end, with
/// tracing, metrics, retries, dead letters and deduplication all working, sampling resident
/// memory as it goes, to show whether anything grows without bound.
enum SoakBenchmark {
    static let usage = """
        usage: sightline bench soak [--minutes M] [--sample-seconds S] [--sampling RATIO]
                                    [--json]
          --minutes M          how long to publish at full speed (default 10)
          --sample-seconds S   seconds between memory samples (default 10)
          --sampling RATIO     trace sampling ratio (default 0.1)
          --json               print one JSON object as the last line
        Exits 1 when resident memory grew: the last fifth of the samples more than 10% above
        the first fifth's peak, or the second half climbing by more than 1% of it a minute.
        The first minute includes warming up, so give it several minutes for a verdict.
        "handled" counts the deliveries of both subscriber groups.
        """

    struct Sample: Codable {
        var seconds: Double
        var residentBytes: Int
        var handled: Int

        enum CodingKeys: String, CodingKey {
            case seconds, handled
            case residentBytes = "resident_bytes"
        }
    }

    struct Report: Codable {
        var benchmark = "soak"
        var minutes: Double
        var published: Int
        var handled: Int
        var messagesPerSecond: Double
        var deadLetters: Int
        var retried: Int
        var spansExported: Int
        var spansDropped: Int
        var scrapeBytes: Int
        var peakResidentBytes: Int
        /// Resident memory once warmed up: the largest sample of the run's first fifth.
        var warmResidentBytes: Int
        /// The largest sample of the run's last fifth.
        var finalResidentBytes: Int
        /// Least-squares slope of resident memory over the run's second half.
        var secondHalfSlopeBytesPerMinute: Double
        var bounded: Bool
        var samples: [Sample]

        enum CodingKeys: String, CodingKey {
            case benchmark, minutes, published, handled, retried, samples, bounded
            case messagesPerSecond = "messages_per_second"
            case deadLetters = "dead_letters"
            case spansExported = "spans_exported"
            case spansDropped = "spans_dropped"
            case scrapeBytes = "scrape_bytes"
            case peakResidentBytes = "peak_resident_bytes"
            case warmResidentBytes = "warm_resident_bytes"
            case finalResidentBytes = "final_resident_bytes"
            case secondHalfSlopeBytesPerMinute = "second_half_slope_bytes_per_minute"
        }
    }

    /// Keys spread over many partitions, as an order stream's customer ids would be.
    struct SoakEvent: Event {
        static let messageType = "bench.SoakEvent"
        var sequence: Int
        var customer: String
        var amount: Double

        var partitionKey: String? { customer }
    }

    /// Counts what the handlers saw, shared by every worker.
    final class Tally: Sendable {
        let handled = Atomic<Int>(0)
        let retried = Atomic<Int>(0)
    }

    static func run(_ words: [String]) async throws -> Int32 {
        let arguments = try CommandArguments(
            words, switchNames: ["--json"],
            valueNames: ["--minutes", "--sample-seconds", "--sampling"])
        try arguments.requireNoPositional()
        let minutes = try arguments.double("--minutes", range: 0.05...240) ?? 10
        let interval = try arguments.double("--sample-seconds", range: 0.5...600) ?? 10
        let sampling = try arguments.double("--sampling", range: 0...1) ?? 0.1

        let registry = MetricsRegistry()
        let exporter = CountingSpanExporter()
        var tracing = TracingConfiguration()
        tracing.sampler = .parentBasedTraceIDRatio
        tracing.samplerRatio = sampling
        let tracer = Tracer(configuration: tracing, exporter: exporter, logger: .disabled)
        let deadLetters = InMemoryDeadLetterStore(capacity: 10_000, logger: .disabled)
        let bus = Bus(
            configuration: BusConfiguration(
                deadLetterStore: deadLetters,
                idempotencyStore: InMemoryIdempotencyStore(capacity: 200_000, logger: .disabled),
                logger: .disabled, tracer: tracer,
                metrics: try BusMetrics(registry: registry)))
        let tally = Tally()
        try await subscribe(bus, tally: tally)

        let started = ContinuousClock.now
        let deadline = started + .seconds(minutes * 60)
        let publisher = Task { try await publishUntil(deadline, on: bus) }
        let endpoint = MetricsEndpoint(registry: registry, processMetrics: nil)
        var samples: [Sample] = []
        var scrapeBytes = 0
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(min(interval, (deadline - .now).seconds)))
            scrapeBytes = endpoint.render(.prometheusText).count
            samples.append(
                Sample(
                    seconds: (ContinuousClock.now - started).seconds,
                    residentBytes: ProcessResources.residentBytes(),
                    handled: tally.handled.load(ordering: .relaxed)))
        }
        let published = try await publisher.value
        _ = await bus.shutdown(deadline: .seconds(60))
        await tracer.shutdown(deadline: .now + .seconds(30))

        let report = makeReport(
            minutes: minutes, published: published, tally: tally, samples: samples,
            deadLetters: try await deadLetters.count(), tracer: tracer.statistics,
            scrapeBytes: scrapeBytes)
        show(report, json: arguments.has("--json"))
        return report.bounded ? 0 : 1
    }

    /// Two groups on one event: per-key ordered with retries (one message in a thousand
    /// fails once, one in a hundred thousand always fails and is dead-lettered), and
    /// effectively-once with a short deduplication window.
    private static func subscribe(_ bus: Bus, tally: Tally) async throws {
        let retry = RetryPolicy(
            maximumAttempts: 3, baseDelay: .milliseconds(1), maximumDelay: .milliseconds(5))
        try await bus.subscribe(
            to: SoakEvent.self, group: "ledger",
            options: SubscriptionOptions(concurrency: 2, retry: retry)
        ) { event, context in
            if event.sequence % 100_000 == 99_999 {
                throw SoakFailure()
            }
            if event.sequence % 1000 == 999, context.attempt == 1 {
                tally.retried.add(1, ordering: .relaxed)
                throw SoakFailure()
            }
            tally.handled.add(1, ordering: .relaxed)
        }
        try await bus.subscribe(
            to: SoakEvent.self, group: "audit",
            options: SubscriptionOptions(delivery: .effectivelyOnce(window: .seconds(2)))
        ) { _, _ in
            tally.handled.add(1, ordering: .relaxed)
        }
    }

    struct SoakFailure: Error {}

    private static func publishUntil(_ deadline: ContinuousClock.Instant, on bus: Bus)
        async throws -> Int
    {
        var sequence = 0
        while ContinuousClock.now < deadline {
            // Check the clock once per thousand messages; reading it costs more than a publish.
            for _ in 0..<1000 {
                let event = SoakEvent(
                    sequence: sequence, customer: "customer-\(sequence % 5000)",
                    amount: Double(sequence % 997))
                try await bus.publish(event)
                sequence += 1
            }
        }
        return sequence
    }

    private static func makeReport(
        minutes: Double, published: Int, tally: Tally, samples: [Sample], deadLetters: Int,
        tracer: TracerStatistics, scrapeBytes: Int
    ) -> Report {
        let fifth = max(1, samples.count / 5)
        let warm = samples.prefix(fifth).map(\.residentBytes).max() ?? 0
        let final = samples.suffix(fifth).map(\.residentBytes).max() ?? 0
        let slope = slopePerMinute(Array(samples.suffix(max(2, samples.count / 2))))
        let handled = tally.handled.load(ordering: .relaxed)

        // Bounded: the last fifth holds no more than a tenth above the first fifth's peak,
        // and the second half does not climb by more than 1% of that peak per minute.
        let bounded =
            Double(final) <= Double(warm) * 1.1 && slope <= Double(warm) * 0.01
        return Report(
            minutes: minutes, published: published, handled: handled,
            messagesPerSecond: Double(published) / (minutes * 60), deadLetters: deadLetters,
            retried: tally.retried.load(ordering: .relaxed), spansExported: tracer.exported,
            spansDropped: tracer.dropped, scrapeBytes: scrapeBytes,
            peakResidentBytes: ProcessResources.peakResidentBytes(), warmResidentBytes: warm,
            finalResidentBytes: final, secondHalfSlopeBytesPerMinute: slope, bounded: bounded,
            samples: samples)
    }

    /// The least-squares slope of resident bytes against time, per minute.
    static func slopePerMinute(_ samples: [Sample]) -> Double {
        guard samples.count >= 2 else { return 0 }
        let count = Double(samples.count)
        let meanTime = samples.reduce(0) { $0 + $1.seconds } / count
        let meanBytes = samples.reduce(0) { $0 + Double($1.residentBytes) } / count
        var covariance = 0.0
        var variance = 0.0
        for sample in samples {
            covariance += (sample.seconds - meanTime) * (Double(sample.residentBytes) - meanBytes)
            variance += (sample.seconds - meanTime) * (sample.seconds - meanTime)
        }
        return variance > 0 ? covariance / variance * 60 : 0
    }

    private static func show(_ report: Report, json: Bool) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let text = (try? encoder.encode(report)).map { String(decoding: $0, as: UTF8.self) }
            print(text ?? "{}")
            return
        }
        print(
            String(
                format: "sightline bench soak: %.1f minutes, %d published, %.0f msg/s",
                report.minutes, report.published, report.messagesPerSecond))
        print("  seconds   resident   handled (both groups)")
        for sample in report.samples {
            print(
                String(format: "  %7.0f ", sample.seconds)
                    + ProcessResources.megabytes(sample.residentBytes).leftPadded(to: 10)
                    + String(format: " %9d", sample.handled))
        }
        print(
            "  handled \(report.handled), retried \(report.retried), dead letters "
                + "\(report.deadLetters), spans \(report.spansExported) exported / "
                + "\(report.spansDropped) dropped, scrape \(report.scrapeBytes) bytes")
        print(
            "  resident: warm \(ProcessResources.megabytes(report.warmResidentBytes)), final "
                + "\(ProcessResources.megabytes(report.finalResidentBytes)), peak "
                + "\(ProcessResources.megabytes(report.peakResidentBytes)), second-half slope "
                + String(format: "%.2f MB/min", report.secondHalfSlopeBytesPerMinute / 1_048_576)
                + (report.bounded ? ": bounded" : ": GROWING (exit status 1)"))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
