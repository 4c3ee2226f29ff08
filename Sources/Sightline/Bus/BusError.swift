/// An error the bus reports to a caller: what went wrong, and whether trying again can help.
public struct BusError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// A command or request was sent that no handler is registered for.
        case noHandler
        /// A second handler was registered for a command or request type.
        case duplicateHandler
        /// A group subscribed twice to the same message type.
        case duplicateSubscription
        /// A subscriber group's queue had no room.
        case queueFull
        /// No reply came within the request's timeout.
        case requestTimedOut
        /// The request's handler failed; the message carries its error.
        case requestFailed
        /// The bus is shutting down and takes no new work.
        case shuttingDown
        /// A message could not be encoded into an envelope.
        case encodingFailed
        /// The transport does not know the subscriber group.
        case unknownGroup
        /// Subscription options are out of range.
        case invalidOptions
        /// No dead letter has that id and group.
        case deadLetterNotFound
        /// An inline handler failed; the underlying error is its last failure.
        case handlerFailed
        /// The admission control shed the message under pressure or a memory limit;
        /// ``BusError/retryAfter`` says when to offer it again.
        case shed
    }

    public var code: Code
    public var message: String
    /// For `shed`: how long to wait before offering the message again.
    public var retryAfter: Duration?
    /// True when the same call may succeed later (a full queue, a timeout).
    public var isRetryable: Bool {
        switch code {
        case .queueFull, .requestTimedOut, .shed: true
        default: false
        }
    }

    public init(_ code: Code, _ message: String, retryAfter: Duration? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
