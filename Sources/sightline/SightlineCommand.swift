import Foundation

/// The `sightline` command: the demo, benchmarks and operator tools.
@main
struct SightlineCommand {
    static let usage = """
        usage: sightline <command> [flags]
          demo            run the order workflow on the CDNOW purchase log
          bench inproc    measure in-process publish-to-handled throughput and latency
          bench tracing   spans end to end to a local receiver, next to the Python SDK
          bench exporter  measure OTLP span encoding and delivery to a local receiver
          bench nats      publish to handled over JetStream, next to the raw NATS C client
          bench outbox    measure staging and relaying through the SQLite outbox
          bench overload  the back-pressure controller under measured overload, on and off
          bench scrape    measure rendering a /metrics scrape with a demo's series
          bench soak      run the bus flat out for minutes and watch its resident memory
          dlq             list, show and redrive dead letters (--store PATH or --transport URL)
          policy check F  validate a back-pressure policy file and print the effective policy
          schema snapshot write the demo's message schemas to files, one per type and version
          schema check    compare the demo's message types with committed schema files
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
        // Errors name the benchmark too: "sightline bench soak: …".
        let name =
            command == "bench" && rest.first.map { !$0.hasPrefix("-") } == true
            ? "bench \(rest[0])" : command
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
            case ("bench", "tracing"):
                return try await TracingBenchmark.run(Array(rest.dropFirst()))
            case ("bench", "nats"):
                return try await NATSBenchmark.run(Array(rest.dropFirst()))
            case ("bench", "overload"):
                return try await runOverloadBenchmark(arguments: Array(rest.dropFirst()))
            case ("policy", "check"):
                return try runPolicyCheck(arguments: Array(rest.dropFirst()))
            case ("bench", "outbox"):
                return try await OutboxBenchmark.run(Array(rest.dropFirst()))
            case ("bench", "soak"):
                return try await SoakBenchmark.run(Array(rest.dropFirst()))
            case ("bench", _):
                printError(
                    "sightline bench: name a benchmark: inproc, nats, overload, outbox, "
                        + "exporter, tracing, scrape or soak\n"
                        + usage)
                return 2
            case ("schema", _):
                return try SchemaCommand.run(rest)
            case ("dlq", _) where rest.contains("--store"):
                return try await DLQCommand.run(rest)
            case ("dlq", _):
                return try await DeadLetterCommand.run(rest)
            case ("help", _), ("--help", _):
                print(usage)
                return 0
            default:
                printError("unknown command: \(words.joined(separator: " "))\n\(usage)")
                return 2
            }
        } catch let error as UsageError {
            printError("sightline \(name): \(error)")
            return 2
        } catch {
            printError("sightline \(name): \(error)")
            return 1
        }
    }

    private static func help(for command: String, _ rest: [String]) -> String {
        switch (command, rest.first) {
        case ("demo", _): DemoCommand.usage
        case ("bench", "inproc"): InprocBenchmark.usage
        case ("bench", "scrape"): ScrapeBenchmark.usage
        case ("bench", "exporter"): ExporterBenchmarkOptions.usage
        case ("bench", "tracing"): TracingBenchmark.usage
        case ("schema", _): SchemaCommand.usage
        case ("bench", "nats"): NATSBenchmark.usage
        case ("dlq", _): DLQCommand.usage + "\n" + DeadLetterCommand.usage
        case ("bench", "overload"): overloadBenchmarkUsage
        case ("policy", "check"): policyCheckUsage
        case ("bench", "outbox"): OutboxBenchmark.usage
        case ("bench", "soak"): SoakBenchmark.usage
        default: usage
        }
    }

    static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
