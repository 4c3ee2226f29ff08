import Foundation
import Sightline
import Testing

/// A real Prometheus scrapes a running `sightline demo`; its query API must show the values
/// the demo's own summary reports, and every metric the dashboard queries.
@Suite struct DemoScrapeTests {
    static let orders = 3000

    @Test func prometheus_scrapingTheDemo_seesTheSummaryValues() async throws {
        let port = try PrometheusServer.freePort()
        let demo = try DemoProcess(
            arguments: [
                "--limit", "\(Self.orders)", "--speedup", "0", "--failure-rate", "0.05",
                "--json", "--metrics-port", "\(port)", "--linger", "60",
            ])
        defer { demo.stop() }
        let prometheus = try await PrometheusServer.start(scraping: "127.0.0.1:\(port)")

        let summary = try await demo.summary()
        let deliveredBilling = try #require(summary.delivered["billing"])
        let query = "sum(sightline_messages_acknowledged_total{group=\"billing\"})"
        let samples = try await prometheus.waitForValue(query, equals: deliveredBilling)
        #expect(samples == deliveredBilling, "log: \(prometheus.logText())")

        for (group, count) in summary.delivered {
            #expect(
                try await prometheus.scalar(
                    "sum(sightline_messages_acknowledged_total{group=\"\(group)\"})") == count)
        }
        #expect(
            try await prometheus.scalar(
                "sum(sightline_messages_published_total{channel!=\"insights\"})")
                == summary.published)
        #expect(
            try await prometheus.scalar("sum(sightline_dead_lettered_total)")
                == summary.deadLettered.count)
        #expect(
            try await prometheus.scalar(
                "sum(sightline_dead_lettered_total{reason=\"invalid_message\"})")
                == summary.deadLettered.byReason["invalid_message"])
        #expect(
            try await prometheus.scalar("sightline_dead_letter_depth")
                == summary.deadLettered.count)
        #expect(try await prometheus.scalar("sum(sightline_retries_total)") == summary.retries)
        let lagSeries = try await prometheus.query("sightline_consumer_lag_messages")
        #expect(
            Set(lagSeries.compactMap { $0.labels["group"] })
                == ["billing", "shipping", "analytics", "credit", "reporting"])
        #expect(lagSeries.allSatisfy { $0.value == "0" })

        let names = try await prometheus.metricNames()
        let expected = [
            "messaging_client_sent_messages_total", "messaging_client_consumed_messages_total",
            "messaging_client_operation_duration_seconds_bucket",
            "messaging_process_duration_seconds_bucket", "sightline_messages_published_total",
            "sightline_messages_delivered_total", "sightline_messages_acknowledged_total",
            "sightline_messages_failed_total", "sightline_retries_total",
            "sightline_dead_lettered_total", "sightline_dead_letter_depth",
            "sightline_consumer_lag_messages", "sightline_consumer_lag_seconds",
            "sightline_queue_depth", "sightline_queue_capacity", "sightline_handlers_in_flight",
            "sightline_exporter_queue_length", "sightline_build_info",
            "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
            "process_start_time_seconds",
        ]
        let missing = expected.filter { !names.contains($0) }
        #expect(missing.isEmpty, "missing from the scrape: \(missing)")

        let dashboardNames = Set(
            try DashboardTests().dashboardExpressions().flatMap(PromQLNames.metricNames(in:)))
        let notScraped = dashboardNames.filter { !names.contains($0) }
        #expect(
            notScraped.isEmpty,
            "dashboard queries metrics the demo does not expose: \(notScraped.sorted())")

        await prometheus.stop()
    }
}

extension PrometheusServer {
    /// The value of a query that returns one sample, as a whole number; nil when empty.
    func scalar(_ promql: String) async throws -> Int? {
        guard let sample = try await query(promql).first, let value = Double(sample.value) else {
            return nil
        }
        return Int(value)
    }

    /// Polls until the query returns `expected` (a fresh scrape after the run), up to 30 s.
    func waitForValue(_ promql: String, equals expected: Int) async throws -> Int? {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        var last: Int?
        while clock.now < deadline {
            last = try await scalar(promql)
            if last == expected { return last }
            try await Task.sleep(for: .milliseconds(250))
        }
        return last
    }

    /// Every metric name Prometheus holds.
    func metricNames() async throws -> Set<String> {
        let samples = try await query("count by (__name__) ({__name__=~\".+\"})")
        return Set(samples.compactMap { $0.labels["__name__"] })
    }
}

/// `sightline demo` as a child process: its JSON summary is read from standard output.
final class DemoProcess: Sendable {
    private let process: Process
    private let output: Pipe

    init(arguments: [String]) throws {
        let binary = RepositoryPaths.file(".build/debug/sightline")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw TestHelperError(description: "build the sightline executable first")
        }
        let cdnow =
            ProcessInfo.processInfo.environment["SIGHTLINE_CDNOW"]
            ?? RepositoryPaths.file(".cache/cdnow/CDNOW_master.txt").path
        process = Process()
        output = Pipe()
        process.executableURL = binary
        process.arguments = ["demo", "--orders", cdnow] + arguments
        process.environment = ["OTEL_SDK_DISABLED": "true"]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Waits for the summary line on a thread of its own (the read blocks).
    func summary() async throws -> DemoSummaryFields {
        let handle = output.fileHandleForReading
        let line = await withCheckedContinuation { continuation in
            Thread {
                var bytes: [UInt8] = []
                while let byte = handle.readData(ofLength: 1).first, byte != 10 {
                    bytes.append(byte)
                }
                continuation.resume(returning: Data(bytes))
            }.start()
        }
        return try JSONDecoder().decode(DemoSummaryFields.self, from: line)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// The parts of the demo's JSON summary these tests compare.
struct DemoSummaryFields: Decodable {
    struct DeadLettered: Decodable {
        var count: Int
        var byReason: [String: Int]

        enum CodingKeys: String, CodingKey {
            case count
            case byReason = "by_reason"
        }
    }

    var published: Int
    var delivered: [String: Int]
    var retries: Int
    var deadLettered: DeadLettered

    enum CodingKeys: String, CodingKey {
        case published, delivered, retries
        case deadLettered = "dead_lettered"
    }
}
