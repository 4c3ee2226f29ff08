import Foundation
import Sightline
import SightlineSQLite

/// `sightline dlq list|show|redrive --store PATH`: dead letters kept in a SQLite store.
///
/// This process has no bus and no handlers, so `redrive` does not deliver anything itself:
/// it marks letters for redrive in the store, and a service whose bus uses the same store
/// redrives the marked letters when it calls `SQLiteDeadLetterStore.redriveRequested(using:)`
/// (the demo does so when it starts).
enum DLQCommand {
    static let usage = """
        usage: sightline dlq list --store PATH [--reason R] [--group G] [--channel C]
                                  [--type T] [--limit N] [--json]
               sightline dlq show ID --store PATH [--json]
               sightline dlq redrive (ID [--group G] | --all [--reason R] [--group G]
                                     [--channel C] [--type T]) --store PATH
          --store PATH   the SQLite store the service keeps its dead letters in
          --json         print JSON instead of text
        `redrive` marks letters for redrive; they are sent back to their subscriber group
        by the next service started on the same store (its bus carries out marked redrives
        at start), keeping their ids, with a fresh attempt count.
        """

    static func run(_ words: [String]) async throws -> Int32 {
        guard let action = words.first else { throw UsageError(message: usage) }
        let arguments = try CommandArguments(
            Array(words.dropFirst()), switchNames: ["--json", "--all"],
            valueNames: ["--store", "--reason", "--group", "--channel", "--type", "--limit"])
        guard let path = arguments.string("--store") else {
            throw UsageError(message: "--store PATH is required")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            throw UsageError(message: "no store at \(path)")
        }
        let store = try await SQLiteStore.open(
            path: path, configuration: SQLiteStoreConfiguration(logger: .disabled))
        let status: Int32
        do {
            status = try await perform(
                action, arguments, SQLiteDeadLetterStore(store: store), path: path)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        return status
    }

    private static func perform(
        _ action: String, _ arguments: CommandArguments, _ letters: SQLiteDeadLetterStore,
        path: String
    ) async throws -> Int32 {
        switch action {
        case "list":
            let entries = try await letters.entries(matching: try filter(from: arguments))
            if arguments.has("--json") {
                try printJSON(entries.map(LetterReport.init))
            } else {
                printTable(entries)
            }
        case "show":
            guard let text = arguments.positional.first else {
                throw UsageError(message: "dlq show needs a message id")
            }
            guard let id = MessageID(text) else {
                throw UsageError(message: "'\(text)' is not a message id")
            }
            let entries = try await letters.entries(id: id)
            guard !entries.isEmpty else {
                SightlineCommand.printError("no dead letter \(text) in \(path)")
                return 1
            }
            if arguments.has("--json") {
                try printJSON(entries.map(LetterReport.init))
            } else {
                for entry in entries { printDetails(entry) }
            }
        case "redrive":
            let marked: Int
            if let text = arguments.positional.first {
                guard let id = MessageID(text) else {
                    throw UsageError(message: "'\(text)' is not a message id")
                }
                marked = try await letters.requestRedrive(
                    id: id, group: arguments.string("--group"))
            } else if arguments.has("--all") {
                marked = try await letters.requestRedrive(matching: try filter(from: arguments))
            } else {
                throw UsageError(message: "dlq redrive needs a message id or --all")
            }
            print(
                "\(marked) dead letter(s) marked for redrive in \(path); a service started on "
                    + "this store redrives them")
        default:
            throw UsageError(message: "unknown dlq action '\(action)'\n\(usage)")
        }
        return 0
    }

    private static func filter(from arguments: CommandArguments) throws -> DeadLetterFilter {
        DeadLetterFilter(
            channel: arguments.string("--channel"), group: arguments.string("--group"),
            reason: arguments.string("--reason").map(DeadLetterReason.init(rawValue:)),
            messageType: arguments.string("--type"),
            limit: try arguments.int("--limit", range: 1...Int(Int32.max)))
    }

    // MARK: Output

    private static func printTable(_ entries: [DeadLetterEntry]) {
        print("\(entries.count) dead letter(s)")
        guard !entries.isEmpty else { return }
        let header = [
            "ID", "GROUP", "CHANNEL", "TYPE", "REASON", "ATTEMPTS", "LAST FAILURE", "REDRIVE",
        ]
        let rows = entries.map { entry in
            [
                entry.letter.id.description, entry.letter.group, entry.letter.envelope.channel,
                entry.letter.envelope.messageType, entry.letter.reason.rawValue,
                String(entry.letter.attempts), timestamp(entry.letter.lastFailureAt),
                entry.redriveRequestedAt == nil ? "-" : "requested",
            ]
        }
        let widths = header.indices.map { column in
            max(header[column].count, rows.map { $0[column].count }.max() ?? 0)
        }
        for row in [header] + rows {
            let cells = row.enumerated().map { column, text in
                text.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }
            print(cells.joined(separator: "  "))
        }
    }

    private static func printDetails(_ entry: DeadLetterEntry) {
        let letter = entry.letter
        let envelope = letter.envelope
        var lines = [
            "id:              \(letter.id)",
            "group:           \(letter.group)",
            "channel:         \(envelope.channel)",
            "type:            \(envelope.messageType) v\(envelope.schemaVersion)",
            "reason:          \(letter.reason)",
            "error:           \(letter.errorDescription)",
            "attempts:        \(letter.attempts)",
            "first failure:   \(timestamp(letter.firstFailureAt))",
            "last failure:    \(timestamp(letter.lastFailureAt))",
            "created:         \(timestamp(envelope.createdAt))",
            "correlation id:  \(envelope.correlationID)",
            "causation id:    \(envelope.causationID ?? "-")",
            "partition key:   \(envelope.partitionKey ?? "-")",
            "traceparent:     \(envelope.traceParent ?? "-")",
            "dead-lettered in: \(letter.deadLetterTraceParent ?? "-")",
            "redrive:         \(entry.redriveRequestedAt.map(timestamp) ?? "not requested")",
        ]
        for (name, value) in envelope.headers.sorted(by: { $0.key < $1.key }) {
            lines.append("header \(name): \(value)")
        }
        lines.append("payload (\(envelope.payload.count) bytes): \(payloadText(envelope))")
        print(lines.joined(separator: "\n") + "\n")
    }

    private static func printJSON(_ reports: [LetterReport]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(reports), as: UTF8.self))
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    static func payloadText(_ envelope: Envelope) -> String {
        String(data: envelope.payload, encoding: .utf8)
            ?? "base64:" + envelope.payload.base64EncodedString()
    }

    /// One letter as the JSON output shows it.
    struct LetterReport: Encodable {
        var id: String
        var group: String
        var channel: String
        var messageType: String
        var schemaVersion: Int
        var reason: String
        var error: String
        var attempts: Int
        var firstFailureAt: String
        var lastFailureAt: String
        var createdAt: String
        var correlationID: String
        var causationID: String?
        var partitionKey: String?
        var traceParent: String?
        var deadLetterTraceParent: String?
        var headers: [String: String]
        var redriveRequestedAt: String?
        var payload: String

        init(_ entry: DeadLetterEntry) {
            let letter = entry.letter
            let envelope = letter.envelope
            id = letter.id.description
            group = letter.group
            channel = envelope.channel
            messageType = envelope.messageType
            schemaVersion = envelope.schemaVersion
            reason = letter.reason.rawValue
            error = letter.errorDescription
            attempts = letter.attempts
            firstFailureAt = DLQCommand.timestamp(letter.firstFailureAt)
            lastFailureAt = DLQCommand.timestamp(letter.lastFailureAt)
            createdAt = DLQCommand.timestamp(envelope.createdAt)
            correlationID = envelope.correlationID
            causationID = envelope.causationID
            partitionKey = envelope.partitionKey
            traceParent = envelope.traceParent
            deadLetterTraceParent = letter.deadLetterTraceParent
            headers = envelope.headers
            redriveRequestedAt = entry.redriveRequestedAt.map(DLQCommand.timestamp)
            payload = DLQCommand.payloadText(envelope)
        }

        enum CodingKeys: String, CodingKey {
            case id, group, channel, reason, error, attempts, headers, payload
            case messageType = "message_type"
            case schemaVersion = "schema_version"
            case firstFailureAt = "first_failure_at"
            case lastFailureAt = "last_failure_at"
            case createdAt = "created_at"
            case correlationID = "correlation_id"
            case causationID = "causation_id"
            case partitionKey = "partition_key"
            case traceParent = "traceparent"
            case deadLetterTraceParent = "dead_letter_traceparent"
            case redriveRequestedAt = "redrive_requested_at"
        }
    }
}
