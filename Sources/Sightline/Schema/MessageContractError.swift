/// A delivered message this consumer cannot read: its version is unknown or malformed, or
/// its payload does not decode. Never retried; the message is dead-lettered with
/// ``deadLetterReason``.
public struct MessageContractError: Error, Hashable, CustomStringConvertible {
    public enum Code: String, Hashable, Sendable {
        /// The version is newer than the handled one, or older with no upcaster path.
        case unknownVersion = "unknown_version"
        /// The envelope's version is missing or not a positive integer.
        case invalidVersion = "invalid_version"
        /// The payload does not decode as the declared type and version (content type,
        /// syntax, missing or unknown fields, or an upcaster that failed).
        case undecodable
    }

    public var code: Code
    /// The message type's stable name.
    public var messageType: String
    /// The schema version the envelope declares.
    public var receivedVersion: Int
    /// The versions this consumer reads: the handled one and those it can upcast from.
    public var knownVersions: [Int]
    /// What went wrong, the decoding error included.
    public var message: String

    public init(
        _ code: Code, messageType: String, receivedVersion: Int, knownVersions: [Int],
        message: String
    ) {
        self.code = code
        self.messageType = messageType
        self.receivedVersion = receivedVersion
        self.knownVersions = knownVersions
        self.message = message
    }

    public var deadLetterReason: DeadLetterReason { DeadLetterReason(rawValue: code.rawValue) }

    public var description: String {
        let known = knownVersions.map(String.init).joined(separator: ", ")
        return "\(messageType) version \(receivedVersion): \(message) (versions known: \(known))"
    }
}

extension DeadLetterReason {
    /// The message's schema version is newer than the consumer handles, or older with no
    /// upcaster path to the handled one.
    public static let unknownVersion = DeadLetterReason(rawValue: "unknown_version")
    /// The message's schema version is missing or malformed.
    public static let invalidVersion = DeadLetterReason(rawValue: "invalid_version")
}
