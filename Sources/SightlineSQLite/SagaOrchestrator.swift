import Foundation
import Sightline

/// Runs the instances of one ``SagaDefinition``, keeping their state in a ``SQLiteStore``.
///
/// Every transition (start, a step completed, a failure, a timeout) is one unit of work: the
/// instance's new state, the inbox record of the answer that caused it, and the commands it
/// issues (through the outbox) commit together. A transition applies only to the state it
/// was computed from, so a duplicate answer, a late answer after a timeout, or a second
/// orchestrator process does not run a step or a compensation twice. After a restart the
/// stored state, the outbox relay and ``checkTimeouts()`` carry every instance on.
///
/// Tracing: starting an instance makes a span `saga <name>` whose context is stored; each
/// transition makes a span `saga <name> <transition>` (parent: the span current when it
/// happens, so that the saga's messages form one trace) linked to the first span, with
/// the transition as a span event.
///
/// Not yet: compensations are issued together in reverse step order and not awaited: the
/// saga is `compensated` once they are staged, and a compensation's own failure is up to
/// its handler (retries, dead letters).
public final class SagaOrchestrator<Data: Codable & Sendable>: Sendable {
    public let definition: SagaDefinition<Data>
    public let store: SQLiteStore
    private let bus: Bus
    private let tracer: Tracer
    private let metrics: SagaMetrics?
    private let clock: any BusClock
    private let logger: Logger

    public init(
        definition: SagaDefinition<Data>, store: SQLiteStore, bus: Bus,
        tracer: Tracer = .disabled, metrics: SagaMetrics? = nil,
        clock: any BusClock = SystemClock(), logger: Logger = .standardError
    ) {
        self.definition = definition
        self.store = store
        self.bus = bus
        self.tracer = tracer
        self.metrics = metrics
        self.clock = clock
        self.logger = logger.withComponent("sightline.saga")
    }

    /// The subscriber group that receives the steps' answers.
    public var group: String { "saga.\(definition.name)" }

    /// Subscribes ``group`` to every event that completes or fails a step.
    public func register(options: SubscriptionOptions = SubscriptionOptions()) async throws {
        var seen: Set<String> = []
        for step in definition.steps {
            for type in step.completedBy + step.failedBy
            where seen.insert(type.messageType).inserted {
                try await subscribe(type, options: options)
            }
        }
    }

    private func subscribe<E: Event>(_ type: E.Type, options: SubscriptionOptions) async throws {
        try await bus.subscribe(to: E.self, group: group, options: options) {
            [self] _, context in
            try await handleAnswer(context)
        }
    }

    // MARK: Starting

    /// Starts instance `id` with `data` and issues its first step's command.
    ///
    /// Starting is idempotent: when instance `id` exists, nothing happens and the result is
    /// false. The instance's id becomes the correlation id of every message it causes.
    @discardableResult
    public func start(id: String, data: Data) async throws -> Bool {
        guard let first = definition.steps.first else { return false }
        let encoded = try JSONEncoder().encode(data)
        let span = tracer.startSpan(
            "saga \(definition.name)", parent: TracingContext.current,
            attributes: attributes(id: id, step: 0))
        span.addEvent("sightline.saga.started")

        let now = clock.wallTime().timeIntervalSince1970
        let command = try TracingContext.$current.withValue(span.context) {
            try envelope(first.command(data), sagaID: id)
        }
        let traceParent = span.context.isValid ? TraceParent(span.context).headerValue : nil
        let started = try await store.unitOfWork { [definition] uow -> Bool in
            let existing = try uow.query(
                "SELECT 1 FROM saga_instances WHERE id = ?", [.text(id)])
            guard existing.isEmpty else { return false }
            try uow.execute(
                """
                INSERT INTO saga_instances (id, saga, data, step, status, started_at,
                    updated_at, deadline_at, traceparent)
                VALUES (?, ?, ?, 0, 'running', ?, ?, ?, ?)
                """,
                [
                    .text(id), .text(definition.name), .blob(encoded), .real(now), .real(now),
                    .real(now + first.timeout.seconds), traceParent.map { .text($0) } ?? .null,
                ])
            try uow.stage(command)
            return true
        }
        if started {
            metrics?.started.labels(definition.name).increment()
        } else {
            span.addEvent("sightline.saga.already_started")
        }
        span.end()
        return started
    }

    // MARK: Answers

    private struct Loaded: Sendable {
        var data: Data
        var step: Int
        var startedAt: Double
        var firstSpan: SpanContext?
    }

    /// Applies a step's answer once: the inbox record, the new state and the next command
    /// commit together.
    private func handleAnswer(_ context: MessageContext) async throws {
        let id = context.envelope.correlationID
        let type = context.envelope.messageType
        guard let loaded = try await load(id), loaded.step < definition.steps.count else {
            return
        }
        let step = definition.steps[loaded.step]
        if step.completedBy.contains(where: { $0.messageType == type }) {
            try await advance(id, from: loaded, context: context)
        } else if step.failedBy.contains(where: { $0.messageType == type }) {
            try await compensate(
                id, from: loaded, through: loaded.step - 1,
                reason: "step \(step.name) failed", timedOut: false, context: context)
        }
        // An answer for another step (late, after a timeout) changes nothing.
    }

    private func advance(_ id: String, from loaded: Loaded, context: MessageContext)
        async throws
    {
        let nextIndex = loaded.step + 1
        let isLast = nextIndex >= definition.steps.count
        let transition = isLast ? "completed" : "step \(definition.steps[nextIndex].name)"
        let span = transitionSpan(transition, id: id, step: loaded.step, loaded: loaded)
        defer { span.end() }

        let now = clock.wallTime().timeIntervalSince1970
        let nextStep = isLast ? nil : definition.steps[nextIndex]
        let next = try nextStep.map { nextStep in
            try TracingContext.$current.withValue(span.context) {
                try envelope(nextStep.command(loaded.data), sagaID: id)
            }
        }
        let deadline: SQLiteValue = nextStep.map { .real(now + $0.timeout.seconds) } ?? .null
        let status = isLast ? SagaStatus.completed : .running
        let fromStep = loaded.step
        let applied = try await store.unitOfWork(handling: context) { uow -> Bool in
            let changed = try uow.execute(
                """
                UPDATE saga_instances SET step = ?, status = ?, updated_at = ?, deadline_at = ?
                WHERE id = ? AND step = ? AND status = 'running'
                """,
                [
                    .integer(Int64(isLast ? fromStep : nextIndex)), .text(status.rawValue),
                    .real(now), deadline, .text(id), .integer(Int64(fromStep)),
                ])
            guard changed == 1 else { return false }
            if let next { try uow.stage(next) }
            return true
        }
        guard applied == true else {
            span.addEvent("sightline.saga.answer_ignored")
            return
        }
        span.addEvent(isLast ? "sightline.saga.completed" : "sightline.saga.step_started")
        if isLast {
            metrics?.completed.labels(definition.name).increment()
            metrics?.duration.labels(definition.name, "completed").observe(now - loaded.startedAt)
        }
    }

    // MARK: Compensation and timeouts

    /// Issues the compensations of steps `through` down to 0, in that order, and marks the
    /// instance compensated; nothing happens when the instance moved on meanwhile.
    private func compensate(
        _ id: String, from loaded: Loaded, through last: Int, reason: String, timedOut: Bool,
        context: MessageContext?
    ) async throws {
        let span = transitionSpan("compensation", id: id, step: loaded.step, loaded: loaded)
        defer { span.end() }
        span.addEvent(
            timedOut ? "sightline.saga.timed_out" : "sightline.saga.step_failed",
            attributes: ["sightline.saga.reason": .string(reason)])

        let commands = try TracingContext.$current.withValue(span.context) {
            try stride(from: last, through: 0, by: -1).compactMap { index in
                try definition.steps[index].compensation.map { compensation in
                    try envelope(compensation(loaded.data), sagaID: id)
                }
            }
        }
        let now = clock.wallTime().timeIntervalSince1970
        let fromStep = loaded.step
        let body: @Sendable (UnitOfWork) throws -> Bool = { uow in
            let changed = try uow.execute(
                """
                UPDATE saga_instances SET status = 'compensated', reason = ?, updated_at = ?,
                    deadline_at = NULL
                WHERE id = ? AND step = ? AND status = 'running'
                """, [.text(reason), .real(now), .text(id), .integer(Int64(fromStep))])
            guard changed == 1 else { return false }
            for command in commands { try uow.stage(command) }
            return true
        }
        let applied: Bool?
        if let context {
            applied = try await store.unitOfWork(handling: context, body)
        } else {
            applied = try await store.unitOfWork(body)
        }
        guard applied == true else {
            span.addEvent("sightline.saga.answer_ignored")
            return
        }
        span.addEvent(
            "sightline.saga.compensated",
            attributes: ["sightline.saga.compensations": .int(Int64(commands.count))])
        if timedOut { metrics?.timedOut.labels(definition.name).increment() }
        metrics?.compensated.labels(definition.name).increment()
        metrics?.duration.labels(definition.name, "compensated").observe(now - loaded.startedAt)
        logger.info(
            "saga compensated",
            ["sightline.saga.id": id, LogKey.reason: reason, LogKey.count: String(commands.count)])
    }

    /// Compensates every running instance whose current step's timeout passed (the timed
    /// out step's own compensation included, since its command may have taken effect);
    /// returns how many.
    @discardableResult
    public func checkTimeouts() async throws -> Int {
        let now = clock.wallTime().timeIntervalSince1970
        let name = definition.name
        let due = try await store.perform { connection in
            try connection.query(
                """
                SELECT id FROM saga_instances
                WHERE saga = ? AND status = 'running' AND deadline_at < ?
                ORDER BY deadline_at
                """, [.text(name), .real(now)]
            ).compactMap { $0[0].text }
        }
        var count = 0
        for id in due {
            guard let loaded = try await load(id), loaded.step < definition.steps.count else {
                continue
            }
            let step = definition.steps[loaded.step]
            try await compensate(
                id, from: loaded, through: loaded.step, reason: "step \(step.name) timed out",
                timedOut: true, context: nil)
            count += 1
        }
        return count
    }

    /// Checks timeouts every `interval` until the task is cancelled.
    public func runTimeouts(every interval: Duration) async {
        while !Task.isCancelled {
            do {
                try await checkTimeouts()
            } catch {
                logger.warning("saga timeout check failed", [LogKey.error: "\(error)"])
            }
            try? await clock.sleep(for: interval)
        }
    }

    // MARK: Inspection

    /// The stored state of instance `id`, or nil.
    public func instance(_ id: String) async throws -> SagaInstance? {
        try await store.perform { connection in
            guard
                let row = try connection.query(
                    "SELECT saga, step, status, reason FROM saga_instances WHERE id = ?",
                    [.text(id)]
                ).first
            else { return nil }
            return SagaInstance(
                id: id, saga: row[0].text ?? "", step: Int(row[1].integer ?? 0),
                status: SagaStatus(rawValue: row[2].text ?? "") ?? .running, reason: row[3].text)
        }
    }

    /// How many instances of this saga are in each status.
    public func counts() async throws -> [SagaStatus: Int] {
        let name = definition.name
        return try await store.perform { connection in
            var counts: [SagaStatus: Int] = [:]
            for row in try connection.query(
                "SELECT status, count(*) FROM saga_instances WHERE saga = ? GROUP BY status",
                [.text(name)])
            {
                if let status = SagaStatus(rawValue: row[0].text ?? "") {
                    counts[status] = Int(row[1].integer ?? 0)
                }
            }
            return counts
        }
    }

    // MARK: Helpers

    private func load(_ id: String) async throws -> Loaded? {
        let row = try await store.perform { connection in
            try connection.query(
                """
                SELECT data, step, started_at, traceparent FROM saga_instances
                WHERE id = ? AND status = 'running'
                """, [.text(id)]
            ).first
        }
        guard let row, let bytes = row[0].blob else { return nil }
        let data = try JSONDecoder().decode(Data.self, from: bytes)
        let first = row[3].text.flatMap(TraceParent.parse).map { $0.makeSpanContext() }
        return Loaded(
            data: data, step: Int(row[1].integer ?? 0), startedAt: row[2].real ?? 0,
            firstSpan: first)
    }

    private func envelope(_ command: any Command, sagaID: String) throws -> Envelope {
        var envelope = try bus.envelope(for: command)
        envelope.correlationID = sagaID
        return envelope
    }

    private func transitionSpan(_ transition: String, id: String, step: Int, loaded: Loaded)
        -> Span
    {
        let links = loaded.firstSpan.map { [SpanLinkData(context: $0)] } ?? []
        return tracer.startSpan(
            "saga \(definition.name) \(transition)",
            parent: TracingContext.current ?? loaded.firstSpan, links: links,
            attributes: attributes(id: id, step: step))
    }

    private func attributes(id: String, step: Int) -> SpanAttributes {
        [
            "sightline.saga.name": .string(definition.name), "sightline.saga.id": .string(id),
            "sightline.saga.step": .int(Int64(step)),
        ]
    }
}
