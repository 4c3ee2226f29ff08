import Foundation
import Sightline
import SightlineNATS

/// `sightline dlq list|show|redrive --transport nats://…`: the dead letters of a JetStream
/// deployment, for operators.
enum DeadLetterCommand {
    static let usage = """
        usage: sightline dlq list    --transport URL [--group G] [--reason R] [--limit N] [--json]
               sightline dlq show    ID --group G --transport URL
               sightline dlq redrive ID --group G --transport URL
               sightline dlq redrive --all [--group G] [--reason R] --transport URL
          --transport URL     nats://HOST:PORT[,nats://…] of the JetStream deployment
          --group G           the subscriber group that failed the message
          --reason R          attempts_exhausted, invalid_message, malformed_envelope, …
          --limit N           list at most N letters
          --json              one JSON object per letter
        """

    static func run(_ words: [String]) async throws -> Int32 {
        guard let action = words.first, ["list", "show", "redrive"].contains(action) else {
            throw UsageError(message: "dlq needs list, show or redrive\n\(usage)")
        }
        let arguments = try CommandArguments(
            Array(words.dropFirst()), switchNames: ["--json", "--all"],
            valueNames: ["--transport", "--group", "--reason", "--limit"])
        guard let url = arguments.string("--transport"), url.hasPrefix("nats://") else {
            throw UsageError(message: "--transport nats://… is required")
        }
        let filter = DeadLetterFilter(
            group: arguments.string("--group"),
            reason: arguments.string("--reason").map(DeadLetterReason.init(rawValue:)),
            limit: try arguments.int("--limit", range: 1...1_000_000))

        let servers = url.split(separator: ",").map(String.init)
        let connection = try await onOwnThread {
            try NATSConnection(
                options: NATSConnectionOptions(servers: servers, name: "sightline-dlq"),
                logger: Logger(sink: StandardErrorLogSink(), minimumLevel: .warning))
        }
        defer { connection.close() }
        let transport = try NATSTransport(connection: connection)

        switch action {
        case "list":
            let letters = try await transport.deadLetterStore.list(filter)
            for letter in letters {
                print(arguments.has("--json") ? try json(letter) : line(letter))
            }
            return 0
        case "show":
            let letter = try await find(arguments, in: transport)
            print(try json(letter, payload: true))
            return 0
        default:
            if arguments.has("--all") {
                let letters = try await transport.deadLetterStore.list(filter)
                for letter in letters { try await transport.redrive(letter) }
                print("redriven: \(letters.count)")
            } else {
                try await transport.redrive(try await find(arguments, in: transport))
                print("redriven: 1")
            }
            _ = await transport.close()
            return 0
        }
    }

    private static func find(_ arguments: CommandArguments, in transport: NATSTransport)
        async throws -> DeadLetter
    {
        guard let text = arguments.positional.first, let id = MessageID(text) else {
            throw UsageError(message: "give the dead letter's message id (a UUID)")
        }
        guard let group = arguments.string("--group") else {
            throw UsageError(message: "--group is required with a message id")
        }
        let letters = try await transport.deadLetterStore.list(DeadLetterFilter(group: group))
        guard let letter = letters.first(where: { $0.id == id }) else {
            throw BusError(.deadLetterNotFound, "no dead letter \(id) for group \(group)")
        }
        return letter
    }

    private static func line(_ letter: DeadLetter) -> String {
        "\(letter.id)  \(letter.group)  \(letter.reason)  attempts \(letter.attempts)  "
            + "\(letter.envelope.messageType)  \(letter.errorDescription.prefix(120))"
    }

    private static func json(_ letter: DeadLetter, payload: Bool = false) throws -> String {
        var object: [String: Any] = [
            "id": letter.id.description, "group": letter.group,
            "reason": letter.reason.rawValue, "error": letter.errorDescription,
            "attempts": letter.attempts, "type": letter.envelope.messageType,
            "channel": letter.envelope.channel,
            "first_failure_unix_nanos": NATSDeadLetterStore.unixNanos(letter.firstFailureAt),
            "last_failure_unix_nanos": NATSDeadLetterStore.unixNanos(letter.lastFailureAt),
            "headers": try letter.envelope.headerFields(),
        ]
        if payload {
            object["payload"] = String(decoding: letter.envelope.payload, as: UTF8.self)
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    private static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T)
        async throws -> T
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
