import Foundation
import Sightline

/// Which part of the workflow a demo process runs.
public enum DemoRole: String, Sendable, CaseIterable {
    /// Publishes and handles, in one process (the default).
    case all
    /// Replays the purchase log and exits once every message is stored.
    case producer
    /// Handles messages until interrupted or idle; several may run at once.
    case consumer
}

/// A transport other than the in-memory one, and the process's role in the workflow.
public struct DemoEngine: Sendable {
    public var transport: any Transport
    public var deadLetterStore: any DeadLetterStore
    public var role: DemoRole
    /// A consumer stops once nothing was handled for this long; nil: only when interrupted.
    public var idleExit: Duration?
    /// Polled by a consumer; true stops it (an interrupt).
    public var stopRequested: @Sendable () -> Bool

    public init(
        transport: any Transport, deadLetterStore: any DeadLetterStore, role: DemoRole = .all,
        idleExit: Duration? = nil, stopRequested: @escaping @Sendable () -> Bool = { false }
    ) {
        self.transport = transport
        self.deadLetterStore = deadLetterStore
        self.role = role
        self.idleExit = idleExit
        self.stopRequested = stopRequested
    }
}

extension DemoRunner {
    /// Runs one role of a distributed demo and summarizes what this process did.
    func run(
        role engine: DemoEngine, purchases: [Purchase], bus: Bus, ledger: DemoLedger,
        clock: SystemClock
    ) async throws -> DemoSummary {
        let started = clock.now()
        switch engine.role {
        case .all:
            try await subscribe(bus: bus, ledger: ledger)
            try await replay(purchases, on: bus, ledger: ledger, clock: clock)
        case .producer:
            try await replay(purchases, on: bus, ledger: ledger, clock: clock)
        case .consumer:
            try await subscribe(bus: bus, ledger: ledger)
            try await waitUntilIdle(engine, ledger: ledger, clock: clock)
        }
        let report = await bus.shutdown(deadline: .seconds(30))
        return try await summarize(
            purchases: purchases, ledger: ledger, bus: bus, report: report,
            duration: clock.now() - started)
    }

    /// Returns once nothing was handled for `idleExit`, or a stop was requested.
    private func waitUntilIdle(_ engine: DemoEngine, ledger: DemoLedger, clock: SystemClock)
        async throws
    {
        var lastActivity = -1
        var quietSince = clock.now()
        while !engine.stopRequested() {
            try await clock.sleep(for: .milliseconds(100))
            let snapshot = ledger.snapshot
            let activity = snapshot.delivered.values.reduce(0, +) + snapshot.retries
            if activity != lastActivity {
                lastActivity = activity
                quietSince = clock.now()
            } else if let idle = engine.idleExit, clock.now() - quietSince >= idle {
                return
            }
        }
    }
}
