import Foundation
import Sightline
import Synchronization

/// Publishes the messages units of work staged in a ``SQLiteStore``'s outbox, after their
/// transaction committed.
///
/// Guarantees: messages are published in staging (commit) order; each at least once: a
/// message is marked sent only after its publish returned, so a crash in between publishes
/// it again after the restart (with the same id, which a consumer's inbox recognises).
/// While publishing fails, the relay keeps the failed message at the head, retries it with
/// exponential backoff, and publishes nothing after it, so order holds. An envelope
/// published by the relay has a PRODUCER span whose parent is the span that staged it, with
/// a link to that context (`sightline.link.reason` = `outbox_staged`).
///
/// Not yet: one relay per store file. Two relays (in two processes) on one file would each
/// publish the backlog, so messages could be published twice and interleave.
public final class OutboxRelay: Sendable {
    /// Publishes one envelope with extra span links; `Bus.publish(envelope:links:)` in
    /// production, a fake in tests.
    public typealias Publisher = @Sendable (Envelope, [SpanLink]) async throws -> Void

    public let store: SQLiteStore
    public let configuration: OutboxRelayConfiguration
    private let publisher: Publisher
    private let metrics: OutboxMetrics?
    private let logger: Logger
    private let passInProgress = Mutex(false)
    private let lastPurge = Mutex<Duration?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// A relay that publishes through `bus`.
    public convenience init(
        store: SQLiteStore, bus: Bus, metrics: OutboxMetrics? = nil,
        configuration: OutboxRelayConfiguration = OutboxRelayConfiguration()
    ) {
        self.init(store: store, metrics: metrics, configuration: configuration) {
            envelope, links in
            try await bus.publish(envelope: envelope, links: links)
        }
    }

    public init(
        store: SQLiteStore, metrics: OutboxMetrics? = nil,
        configuration: OutboxRelayConfiguration = OutboxRelayConfiguration(),
        publisher: @escaping Publisher
    ) {
        self.store = store
        self.metrics = metrics
        self.configuration = configuration
        self.publisher = publisher
        self.logger = configuration.logger.withComponent("sightline.outbox")
    }

    // MARK: Running

    /// Starts relaying in a task of its own until ``stop()``: a round after every commit
    /// that staged messages and at least every `pollInterval`, with backoff while
    /// publishing fails. Calling it again while running does nothing.
    public func start() {
        task.withLock { task in
            guard task == nil else { return }
            task = Task { [self] in await run() }
        }
    }

    /// Stops relaying after the publish in progress, if any; messages not yet published
    /// stay staged for the next start.
    public func stop() async {
        let running = task.withLock { task in
            defer { task = nil }
            return task
        }
        running?.cancel()
        await running?.value
    }

    /// The relay loop ``start()`` runs; returns when the task is cancelled.
    public func run() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                _ = try await publishPending()
                failures = 0
                await store.stagedSignal.wait(
                    upTo: configuration.pollInterval, clock: configuration.clock)
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                let delay = configuration.retryDelay(afterFailures: failures)
                logger.info(
                    "outbox publish failed; retrying",
                    [
                        LogKey.error: "\(error)", LogKey.delay: "\(delay)",
                        LogKey.attempt: String(failures),
                    ])
                try? await configuration.clock.sleep(for: delay)
            }
        }
    }

    // MARK: One pass

    /// Publishes every staged message not yet published, in order, and marks each sent;
    /// returns how many were published.
    ///
    /// At most one pass runs at a time: a call made while another pass runs returns 0 at
    /// once without publishing.
    ///
    /// - Throws: the publisher's error for the first message that failed (messages before
    ///   it are marked sent, it and those after it stay staged), or ``SQLiteStoreError``.
    @discardableResult
    public func publishPending() async throws -> Int {
        let entered = passInProgress.withLock { busy -> Bool in
            if busy { return false }
            busy = true
            return true
        }
        guard entered else { return 0 }
        defer { passInProgress.withLock { $0 = false } }

        var published = 0
        do {
            while true {
                let batch = try await nextBatch()
                if batch.isEmpty { break }
                published += try await publish(batch)
                if batch.count < configuration.batchSize { break }
            }
        } catch {
            try? await refreshDepth()
            throw error
        }
        try await refreshDepth()
        try await purgeSentIfDue()
        return published
    }

    /// The number of staged messages not yet published and the staging time of the oldest.
    public func pending() async throws -> (count: Int, oldestStagedAt: Date?) {
        try await store.perform { connection in
            let row = try connection.query(
                "SELECT count(*), min(staged_at) FROM outbox WHERE sent_at IS NULL"
            ).first
            return (
                Int(row?[0].integer ?? 0), row?[1].real.map(Date.init(timeIntervalSince1970:))
            )
        }
    }

    private struct Staged: Sendable {
        var sequence: Int64
        var bytes: Data
    }

    private func nextBatch() async throws -> [Staged] {
        let limit = Int64(configuration.batchSize)
        return try await store.perform { connection in
            try connection.query(
                "SELECT seq, envelope FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
                [.integer(limit)]
            ).compactMap { row in
                guard let sequence = row[0].integer, let bytes = row[1].blob else { return nil }
                return Staged(sequence: sequence, bytes: bytes)
            }
        }
    }

    /// Publishes a batch in order; marks the published prefix sent, also when one fails.
    private func publish(_ batch: [Staged]) async throws -> Int {
        var lastSent: Int64?
        var count = 0
        for staged in batch {
            let envelope: Envelope
            do {
                envelope = try Envelope(decoding: staged.bytes)
            } catch {
                // A row that does not decode can never be published; holding it would stop
                // the outbox for good, so it is set aside (marked, with the error) and logged.
                try await markUndecodable(staged.sequence, error: error)
                continue
            }
            do {
                try await publishOne(envelope)
            } catch {
                metrics?.failures.increment()
                try await markSent(through: lastSent)
                try await recordFailure(staged.sequence, error: error)
                throw error
            }
            metrics?.published.increment()
            lastSent = staged.sequence
            count += 1
        }
        try await markSent(through: lastSent)
        return count
    }

    /// Publishes with the staging span as parent and link.
    private func publishOne(_ envelope: Envelope) async throws {
        let staging = envelope.traceParent.flatMap(TraceParent.parse)
        let stagingContext = staging.map { parent in
            parent.makeSpanContext(
                traceState: envelope.traceState.map { TraceState.parse($0) } ?? TraceState())
        }
        let links =
            staging.map { parent in
                [
                    SpanLink(
                        traceID: parent.traceID, spanID: parent.parentID, flags: parent.flags,
                        traceState: envelope.traceState ?? "",
                        attributes: ["sightline.link.reason": "outbox_staged"])
                ]
            } ?? []
        try await TracingContext.$current.withValue(stagingContext ?? TracingContext.current) {
            try await publisher(envelope, links)
        }
    }

    // MARK: Bookkeeping

    private func markSent(through sequence: Int64?) async throws {
        guard let sequence else { return }
        let now = configuration.clock.wallTime().timeIntervalSince1970
        try await store.perform { connection in
            try connection.query(
                """
                UPDATE outbox SET sent_at = ?, publish_attempts = publish_attempts + 1
                WHERE seq <= ? AND sent_at IS NULL
                """, [.real(now), .integer(sequence)])
        }
    }

    private func recordFailure(_ sequence: Int64, error: any Error) async throws {
        let text = "\(error)"
        try await store.perform { connection in
            try connection.query(
                """
                UPDATE outbox SET publish_attempts = publish_attempts + 1, last_error = ?
                WHERE seq = ?
                """, [.text(text), .integer(sequence)])
        }
    }

    private func markUndecodable(_ sequence: Int64, error: any Error) async throws {
        let now = configuration.clock.wallTime().timeIntervalSince1970
        let text = "undecodable, never published: \(error)"
        metrics?.failures.increment()
        logger.error(
            "outbox row does not decode; set aside without publishing",
            [LogKey.count: String(sequence), LogKey.error: "\(error)"])
        try await store.perform { connection in
            try connection.query(
                "UPDATE outbox SET sent_at = ?, last_error = ? WHERE seq = ?",
                [.real(now), .text(text), .integer(sequence)])
        }
    }

    private func refreshDepth() async throws {
        guard let metrics else { return }
        let (count, oldest) = try await pending()
        metrics.update(depth: count, oldestStagedAt: oldest?.timeIntervalSince1970)
    }

    /// Deletes messages published longer than `sentRetention` ago, at most once a minute.
    private func purgeSentIfDue() async throws {
        let now = configuration.clock.now()
        let due = lastPurge.withLock { last -> Bool in
            if let last, now - last < .seconds(60) { return false }
            last = now
            return true
        }
        guard due else { return }
        let threshold =
            configuration.clock.wallTime().timeIntervalSince1970
            - configuration.sentRetention.seconds
        try await store.perform { connection in
            try connection.query(
                "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?",
                [.real(threshold)])
        }
    }
}
