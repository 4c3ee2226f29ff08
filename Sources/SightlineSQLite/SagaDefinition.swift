import Sightline

/// An orchestrated saga: steps run one after the other, each a command that a participant
/// handles and answers with an event; when a step fails or times out, the compensations of
/// the steps before it run in reverse order.
///
/// Participants answer inside their command handler, so the answer carries the command's
/// correlation id, which is the saga instance's id. A participant's handler must itself be
/// effectively-once (an inbox): the outbox publishes each command at least once.
public struct SagaDefinition<Data: Codable & Sendable>: Sendable {
    /// The saga's stable name; it labels metrics and spans and names the subscriber group
    /// (`saga.<name>`).
    public var name: String
    public var steps: [SagaStep<Data>]

    public init(name: String, steps: [SagaStep<Data>]) {
        self.name = name
        self.steps = steps
    }
}

/// One step of a ``SagaDefinition``.
public struct SagaStep<Data: Codable & Sendable>: Sendable {
    public var name: String
    /// The command that performs the step.
    public var command: @Sendable (Data) -> any Command
    /// Events that complete the step.
    public var completedBy: [any Event.Type]
    /// Events that fail the step (its participant undid its own work, if any).
    public var failedBy: [any Event.Type]
    /// How long the saga waits for the step's answer before it compensates.
    public var timeout: Duration
    /// The command that undoes the step once it completed; nil when nothing needs undoing.
    public var compensation: (@Sendable (Data) -> any Command)?

    public init(
        name: String, command: @escaping @Sendable (Data) -> any Command,
        completedBy: [any Event.Type], failedBy: [any Event.Type] = [],
        timeout: Duration, compensation: (@Sendable (Data) -> any Command)? = nil
    ) {
        self.name = name
        self.command = command
        self.completedBy = completedBy
        self.failedBy = failedBy
        self.timeout = timeout
        self.compensation = compensation
    }
}

/// Where a saga instance stands.
public enum SagaStatus: String, Hashable, Sendable {
    /// Waiting for the answer to its current step.
    case running
    /// Every step completed.
    case completed
    /// A step failed or timed out and the compensations were issued.
    case compensated
}

/// A saga instance as stored.
public struct SagaInstance: Hashable, Sendable {
    public var id: String
    public var saga: String
    /// The index of the step running now, or of the step that failed or timed out.
    public var step: Int
    public var status: SagaStatus
    /// Why the saga compensated (`step reserve-credit failed`, `… timed out`).
    public var reason: String?

    public init(id: String, saga: String, step: Int, status: SagaStatus, reason: String?) {
        self.id = id
        self.saga = saga
        self.step = step
        self.status = status
        self.reason = reason
    }
}
