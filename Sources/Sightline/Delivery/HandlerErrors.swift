/// Wraps an error to say that retrying cannot help: the message is dead-lettered at once
/// with reason `permanent_failure`.
public struct PermanentError: Error, CustomStringConvertible {
    public var underlying: any Error

    public init(_ underlying: any Error) {
        self.underlying = underlying
    }

    public var description: String { "permanent: \(underlying)" }
}

/// A message that is wrong in itself (a failed ``Message/validate()``, say): dead-lettered
/// at once with reason `invalid_message`.
public struct InvalidMessageError: Error, Hashable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "invalid message: \(reason)" }
}
