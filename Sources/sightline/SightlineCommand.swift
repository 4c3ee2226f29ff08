import Foundation

/// The `sightline` command: the demo, benchmarks and operator tools.
@main
struct SightlineCommand {
    static let usage = """
        usage: sightline <command> [flags]
          demo            run the order workflow on the CDNOW purchase log
          bench inproc    measure in-process publish-to-handled throughput and latency
          bench exporter  measure OTLP span encoding and delivery to a local receiver
          bench scrape    measure rendering a /metrics scrape with a demo's series
          bench outbox    measure staging and relaying through the SQLite outbox
          dlq             list, show and redrive dead letters in a SQLite store
          help            show this text
        Run `sightline <command> --help` for a command's flags.
        """

    static func main() async {
        let words = Array(CommandLine.arguments.dropFirst())
        let status = await run(words)
        exit(status)
    }

    static func run(_ words: [String]) async -> Int32 {
        guard let command = words.first else {
            printError(usage)
            return 2
        }
        let rest = Array(words.dropFirst())
        do {
            if rest.contains("--help") {
                print(help(for: command, rest))
                return 0
            }
            switch (command, rest.first) {
            case ("demo", _):
                return try await DemoCommand.run(rest)
            case ("bench", "inproc"):
                return try await InprocBenchmark.run(Array(rest.dropFirst()))
            case ("bench", "scrape"):
                return try await ScrapeBenchmark.run(Array(rest.dropFirst()))
            case ("bench", "exporter"):
                try await runExporterBenchmark(arguments: Array(rest.dropFirst()))
                return 0
            case ("dlq", _):
                return try await DLQCommand.run(rest)
            case ("bench", "outbox"):
                return try await OutboxBenchmark.run(Array(rest.dropFirst()))
            case ("help", _), ("--help", _):
                print(usage)
                return 0
            default:
                printError("unknown command: \(words.joined(separator: " "))\n\(usage)")
                return 2
            }
        } catch let error as UsageError {
            printError("sightline \(command): \(error)")
            return 2
        } catch {
            printError("sightline \(command): \(error)")
            return 1
        }
    }

    private static func help(for command: String, _ rest: [String]) -> String {
        switch (command, rest.first) {
        case ("demo", _): DemoCommand.usage
        case ("bench", "inproc"): InprocBenchmark.usage
        case ("bench", "scrape"): ScrapeBenchmark.usage
        case ("bench", "outbox"): OutboxBenchmark.usage
        case ("dlq", _): DLQCommand.usage
        default: usage
        }
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
