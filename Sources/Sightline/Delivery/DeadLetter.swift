import Foundation

/// Why a message ended in the dead-letter store.
public struct DeadLetterReason: RawRepresentable, Hashable, Sendable, Codable,
    CustomStringConvertible
{
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Every attempt the retry policy allows failed.
    public static let attemptsExhausted = DeadLetterReason(rawValue: "attempts_exhausted")
    /// The handler threw a ``PermanentError``.
    public static let permanentFailure = DeadLetterReason(rawValue: "permanent_failure")
    /// The message failed validation (``InvalidMessageError``).
    public static let invalidMessage = DeadLetterReason(rawValue: "invalid_message")
    /// The payload does not decode as the declared type.
    public static let undecodable = DeadLetterReason(rawValue: "undecodable")
    /// The message's time to live passed before it was handled.
    public static let expired = DeadLetterReason(rawValue: "expired")
    /// The group has no handler for the message's type.
    public static let noHandler = DeadLetterReason(rawValue: "no_handler")

    public var description: String { rawValue }
}

/// A message that could not be handled, kept with everything needed to understand it and
/// to redrive it: the whole original envelope (headers and trace context included).
public struct DeadLetter: Hashable, Sendable {
    public var envelope: Envelope
    /// The subscriber group that failed to handle it.
    public var group: String
    public var reason: DeadLetterReason
    /// The last error's description.
    public var errorDescription: String
    /// The attempts made, the last one included.
    public var attempts: Int
    public var firstFailureAt: Date
    public var lastFailureAt: Date
    /// The `traceparent` of the span in which the message was dead-lettered, so that a
    /// redrive can link to it.
    public var deadLetterTraceParent: String?

    public init(
        envelope: Envelope, group: String, reason: DeadLetterReason, errorDescription: String,
        attempts: Int, firstFailureAt: Date, lastFailureAt: Date,
        deadLetterTraceParent: String? = nil
    ) {
        self.envelope = envelope
        self.group = group
        self.reason = reason
        self.errorDescription = errorDescription
        self.attempts = attempts
        self.firstFailureAt = firstFailureAt
        self.lastFailureAt = lastFailureAt
        self.deadLetterTraceParent = deadLetterTraceParent
    }

    public var id: MessageID { envelope.id }
}

/// Selects dead letters; a nil field matches everything.
public struct DeadLetterFilter: Hashable, Sendable {
    public var channel: String?
    public var group: String?
    public var reason: DeadLetterReason?
    public var messageType: String?
    public var limit: Int?

    public init(
        channel: String? = nil, group: String? = nil, reason: DeadLetterReason? = nil,
        messageType: String? = nil, limit: Int? = nil
    ) {
        self.channel = channel
        self.group = group
        self.reason = reason
        self.messageType = messageType
        self.limit = limit
    }

    public static let all = DeadLetterFilter()

    public func matches(_ letter: DeadLetter) -> Bool {
        (channel == nil || channel == letter.envelope.channel)
            && (group == nil || group == letter.group)
            && (reason == nil || reason == letter.reason)
            && (messageType == nil || messageType == letter.envelope.messageType)
    }
}
