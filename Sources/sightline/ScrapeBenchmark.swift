import Foundation
import Sightline
import SightlineDemo
import SightlinePrometheus

/// `sightline bench scrape`: the time to render one /metrics scrape holding the series a
/// demo run leaves, in both exposition formats.
enum ScrapeBenchmark {
    static let usage = """
        usage: sightline bench scrape [--orders FILE] [--limit N] [--renders R] [--json]
          --orders FILE   the CDNOW purchase log (default as for `sightline demo`)
          --limit N       purchases the demo replays to fill the registry (default 5000)
          --renders R     renders per format; the median is reported (default 500)
          --json          print one JSON object as the last line
        """

    struct Result: Codable {
        var format: String
        var series: Int
        var bytes: Int
        var medianMicroseconds: Double

        enum CodingKeys: String, CodingKey {
            case format, series, bytes
            case medianMicroseconds = "median_us"
        }
    }

    static func run(_ words: [String]) async throws -> Int32 {
        let arguments = try CommandArguments(
            words, switchNames: ["--json"], valueNames: ["--orders", "--limit", "--renders"])
        try arguments.requireNoPositional()
        let orders =
            arguments.string("--orders") ?? ProcessInfo.processInfo.environment["SIGHTLINE_CDNOW"]
            ?? ".cache/cdnow/CDNOW_master.txt"
        let renders = try arguments.int("--renders", range: 10...100_000) ?? 500

        let registry = MetricsRegistry()
        let metrics = try BusMetrics(registry: registry)
        var configuration = DemoConfiguration(ordersPath: orders)
        configuration.limit = try arguments.int("--limit", range: 100...1_000_000) ?? 5000
        configuration.speedup = 0
        _ = try await DemoRunner(configuration: configuration, logger: .disabled, metrics: metrics)
            .run()

        let endpoint = MetricsEndpoint(
            registry: registry, processMetrics: ProcessMetricsCollector())
        let series = registry.collect().reduce(0) { $0 + $1.series.count }
        var results: [Result] = []
        for (name, format) in [
            ("prometheus-text-0.0.4", ExpositionFormat.prometheusText),
            ("openmetrics-1.0", .openMetrics),
        ] {
            var times: [Double] = []
            var bytes = 0
            for _ in 0..<renders {
                let started = ContinuousClock.now
                bytes = endpoint.render(format).count
                times.append((ContinuousClock.now - started).seconds * 1e6)
            }
            times.sort()
            results.append(
                Result(
                    format: name, series: series, bytes: bytes,
                    medianMicroseconds: times[times.count / 2]))
        }

        if arguments.has("--json") {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let report = ResultsWithMemory(
                results: results, peakResidentBytes: ProcessResources.peakResidentBytes())
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("sightline bench scrape: \(series) series, median of \(renders) renders")
            for result in results {
                let name = result.format.padding(toLength: 22, withPad: " ", startingAt: 0)
                print(
                    name
                        + String(
                            format: " %8d bytes %10.1f µs", result.bytes,
                            result.medianMicroseconds))
            }
        }
        if !arguments.has("--json") {
            print(
                "peak resident memory "
                    + ProcessResources.megabytes(ProcessResources.peakResidentBytes()))
        }
        return 0
    }
}
