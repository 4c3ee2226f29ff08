import Foundation
import Sightline
import SightlineDemo
import SightlinePolicyYAML

/// `sightline demo`: the order workflow on the CDNOW purchase log.
enum DemoCommand {
    static let usage = """
        usage: sightline demo [--orders FILE] [--limit N] [--speedup X] [--failure-rate R]
                              [--seed S] [--json] [--verbose] [--show-traces N]
                              [--metrics-port P] [--linger S] [--policy FILE]
                              [--unreadable-share R] [--store PATH] [--transport T]
                              [--role R] [--idle-exit S]
          --orders FILE       the CDNOW purchase log (default: $SIGHTLINE_CDNOW, or
                              .cache/cdnow/CDNOW_master.txt as scripts/fetch-cdnow leaves it)
          --limit N           replay only the first N purchases
          --speedup X         simulated seconds per real second (default 4000000; 0 = flat out)
          --failure-rate R    share of handler attempts failing transiently (default 0.02)
          --seed S            seed of the failure injection and retry jitter (default 1997)
          --json              print one JSON object as the last line
          --verbose           log every dead letter and retry decision
          --show-traces N     without an OTLP endpoint, draw the first N traces at the end
                              (default 2; 0 turns tracing off)
          --metrics-port P    serve Prometheus metrics on P (0: a free port, printed)
          --linger S          keep serving /metrics S seconds after the run (default 0)
          --policy FILE       back-pressure policy (YAML), reloaded when the file changes or
                              on SIGHUP; `none` runs without a controller (default: a 100 ms
                              lag target on the insights channel)
          --unreadable-share R  share of orders followed by an unreadable future version,
                              dead-lettered as unknown_version (default 0)
          --store PATH        run the workflow as a saga kept in this SQLite store; run
                              again on the same store to resume a stopped run
        \(DemoEngineOptions.usage)
        Tracing follows the OTEL_* variables; with OTEL_EXPORTER_OTLP_ENDPOINT set, spans go
        to that collector over OTLP/HTTP.
        """

    static func run(_ words: [String]) async throws -> Int32 {
        let arguments = try CommandArguments(
            words, switchNames: ["--json", "--verbose"],
            valueNames: Set([
                "--orders", "--limit", "--speedup", "--failure-rate", "--seed", "--show-traces",
                "--metrics-port", "--linger", "--unreadable-share", "--policy", "--store",
            ]).union(DemoEngineOptions.valueNames))
        try arguments.requireNoPositional()
        let environment = ProcessInfo.processInfo.environment
        let orders =
            arguments.string("--orders") ?? environment["SIGHTLINE_CDNOW"]
            ?? ".cache/cdnow/CDNOW_master.txt"

        var configuration = DemoConfiguration(ordersPath: orders)
        configuration.limit = try arguments.int("--limit", range: 1...Int(Int32.max))
        configuration.speedup =
            try arguments.double("--speedup", range: 0...1e12) ?? configuration.speedup
        configuration.failureRate =
            try arguments.double("--failure-rate", range: 0...0.9) ?? configuration.failureRate
        configuration.unreadableShare =
            try arguments.double("--unreadable-share", range: 0...1)
            ?? configuration.unreadableShare
        if let seed = try arguments.int("--seed", range: 0...Int.max) {
            configuration.seed = UInt64(seed)
        }
        let json = arguments.has("--json")
        switch arguments.string("--policy") {
        case nil: break
        case "none": configuration.backPressurePolicy = nil
        case let path?:
            configuration.backPressurePolicy = try PolicyFile.load(path: path)
            configuration.policyFile = path
        }
        let logger = Logger(
            sink: StandardErrorLogSink(),
            minimumLevel: arguments.has("--verbose") ? .debug : .warning)
        configuration.engine = try await DemoEngineOptions.makeEngine(arguments, logger: logger)

        let linger = try arguments.double("--linger", range: 0...86_400) ?? 0
        let observability = try DemoObservability.make(
            environment: environment,
            showTraces: try arguments.int("--show-traces", range: 0...100) ?? 2,
            metricsPort: try arguments.int("--metrics-port", range: 0...65535), logger: logger)
        if let port = observability.server?.boundPort {
            SightlineCommand.printError("serving metrics on http://127.0.0.1:\(port)/metrics")
        }

        if let storePath = arguments.string("--store") {
            let summary = try await SagaDemoRunner(
                configuration: configuration, storePath: storePath, logger: logger,
                tracer: observability.tracer, metrics: observability.metrics
            ).run()
            await observability.flush()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            } else {
                print(summary.text)
                if let trees = observability.traceTrees?.render(), !trees.isEmpty {
                    print("\nTraces of the first sagas:\n\(trees)")
                }
            }
            observability.server?.stop()
            return summary.isComplete ? 0 : 1
        }

        let showProgress = isatty(STDERR_FILENO) == 1
        let runner = DemoRunner(
            configuration: configuration, logger: logger, tracer: observability.tracer,
            metrics: observability.metrics)
        let summary = try await runner.run(progress: showProgress ? printProgress : nil)
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        await observability.flush()

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            printHuman(summary)
            if let trees = observability.traceTrees?.render(), !trees.isEmpty {
                print("\nTraces of the first orders:\n\(trees)")
            }
        }
        fflush(nil)

        if linger > 0, observability.server != nil {
            try await Task.sleep(for: .seconds(linger))
        }
        observability.server?.stop()
        return summary.isComplete ? 0 : 1
    }

    @Sendable private static func printProgress(_ progress: DemoProgress) {
        let percent = progress.orders == 0 ? 100 : progress.ordersPublished * 100 / progress.orders
        let line = String(
            format: "\r\u{1B}[K[%3d%%] %d/%d orders  day %d  handled %d  retries %d",
            percent, progress.ordersPublished, progress.orders, progress.currentDay,
            progress.delivered, progress.retries)
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Published and shed insights by priority, and the months in which shedding happened.
    private static func insightLine(_ insights: DemoSummary.Insights) -> String {
        func counts(_ outcome: String) -> String {
            let byPriority = insights.byOutcome[outcome] ?? [:]
            return "high \(byPriority["high"] ?? 0), low \(byPriority["low"] ?? 0)"
        }
        let months = insights.shedByMonth.keys.sorted().map {
            "\($0): \(insights.shedByMonth[$0]!)"
        }
        var line = "published \(counts("published")); shed \(counts("shed")); "
        line += "refused by a full queue \(counts("refused")); "
        line += "reported \(insights.reported)"
        if !months.isEmpty {
            line += "\n                  shed by month  " + months.joined(separator: ", ")
        }
        return line
    }

    private static func printHuman(_ summary: DemoSummary) {
        let groups = summary.delivered.keys.sorted().map { "\($0) \(summary.delivered[$0]!)" }
        let reasons = summary.deadLettered.byReason.keys.sorted().map {
            "\($0) \(summary.deadLettered.byReason[$0]!)"
        }
        print(
            """
            Sightline demo: \(summary.orders) orders (\(summary.invalidOrders) with zero value)
              published       \(summary.published) messages
              delivered       \(groups.joined(separator: ", "))
              retries         \(summary.retries)
              dead-lettered   \(summary.deadLettered.count) (\(reasons.joined(separator: ", ")))
              duplicates      \(summary.duplicates), out-of-order \(summary.orderViolations), \
            unfinished \(summary.unfinished)
              duration        \(String(format: "%.2f", summary.durationSeconds)) s, \
            \(String(format: "%.0f", summary.messagesPerSecond)) messages/s
              insights        \(insightLine(summary.insights))
              consistent      \(summary.isConsistent ? "yes" : "no")
            """)
    }
}
