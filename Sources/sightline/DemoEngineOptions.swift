import Foundation
import Sightline
import SightlineDemo
import SightlineNATS
import Synchronization

/// The `--transport`, `--role` and `--idle-exit` flags of `sightline demo`.
enum DemoEngineOptions {
    static let valueNames: Set<String> = ["--transport", "--role", "--idle-exit"]

    static let usage = """
          --transport T       memory (default) or nats://HOST:PORT[,nats://…] for JetStream
          --role R            all (default), producer or consumer (with --transport nats://…)
          --idle-exit S       a consumer stops after S seconds with nothing handled
        """

    /// The engine the flags ask for; nil for the in-memory transport.
    static func makeEngine(_ arguments: CommandArguments, logger: Logger) async throws
        -> DemoEngine?
    {
        let transport = arguments.string("--transport") ?? "memory"
        let roleText = arguments.string("--role") ?? "all"
        guard let role = DemoRole(rawValue: roleText) else {
            throw UsageError(message: "--role must be all, producer or consumer, got '\(roleText)'")
        }
        let idle = try arguments.double("--idle-exit", range: 0.1...86_400)
        if transport == "memory" {
            guard role == .all, idle == nil else {
                throw UsageError(message: "--role and --idle-exit need --transport nats://…")
            }
            return nil
        }
        let servers = transport.split(separator: ",").map(String.init)
        guard servers.allSatisfy({ $0.hasPrefix("nats://") || $0.hasPrefix("tls://") }) else {
            throw UsageError(
                message: "--transport must be memory or nats:// URLs, got '\(transport)'")
        }

        let options = NATSConnectionOptions(servers: servers, name: "sightline-demo-\(role)")
        let connection = try await onOwnThread {
            try NATSConnection(options: options, logger: logger)
        }
        // A short ack wait: a consumer that died hands its messages on within 5 s.
        let configuration = NATSTransportConfiguration(
            streams: [ReserveCredit.channel: .commands], ackWait: .seconds(5))
        let nats = try NATSTransport(connection: connection, configuration: configuration)
        let idleExit: Duration? = idle.map { Duration.milliseconds(Int64($0 * 1000)) }
        var stopRequested: @Sendable () -> Bool = { false }
        if role == .consumer { stopRequested = InterruptFlag.install() }
        return DemoEngine(
            transport: nats, deadLetterStore: nats.deadLetterStore, role: role,
            idleExit: idleExit, stopRequested: stopRequested)
    }

    /// Runs a blocking call (connecting) on a thread of its own.
    private static func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T)
        async throws -> T
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}

/// Turns SIGINT into a flag a consumer polls, so that it stops cleanly and prints its summary.
enum InterruptFlag {
    private static let raised = Atomic<Bool>(false)
    // Written once, on the main flow, before any consumer polls; kept only so that the
    // signal source stays alive for the life of the process.
    private nonisolated(unsafe) static var source: (any DispatchSourceSignal)?

    static func install() -> @Sendable () -> Bool {
        signal(SIGINT, SIG_IGN)
        let signalSource = DispatchSource.makeSignalSource(signal: SIGINT)
        signalSource.setEventHandler { raised.store(true, ordering: .relaxed) }
        signalSource.resume()
        source = signalSource
        return { raised.load(ordering: .relaxed) }
    }
}
