/// A message type that travels on the bus: a `Codable` payload with a stable name.
///
/// The stable name and schema version are the message's public contract: they travel in
/// every envelope, so renaming the Swift type does not break consumers.
public protocol Message: Codable, Sendable {
    /// The stable name of the type on the wire, such as `orders.OrderPlaced`.
    static var messageType: String { get }

    /// The version of the payload's schema; defaults to 1.
    static var schemaVersion: Int { get }

    /// The channel the message is published on; defaults to ``messageType``.
    static var channel: String { get }

    /// How the payload is encoded and decoded; defaults to JSON through `Codable`, tolerant
    /// of unknown fields. Return `JSONPayloadCodec(unknownFields: .reject)` for strict
    /// decoding, or a codec of your own for another encoding.
    static var payloadCodec: any PayloadCodec { get }

    /// Messages with the same key are handled in order within a subscriber group; nil (the
    /// default) means no ordering is needed.
    var partitionKey: String? { get }

    /// The message's priority when the bus must choose what to admit; defaults to `.normal`.
    var priority: Priority { get }

    /// Checks the message before a handler sees it. A thrown error dead-letters the message
    /// with reason `invalid_message` and is never retried. The default accepts everything.
    func validate() throws
}

extension Message {
    public static var schemaVersion: Int { 1 }

    public static var channel: String { messageType }

    public static var payloadCodec: any PayloadCodec { JSONPayloadCodec() }

    public var partitionKey: String? { nil }

    public var priority: Priority { .normal }

    public func validate() throws {}
}

/// Something that happened. Every subscriber group of its channel gets a copy; zero groups
/// is fine.
public protocol Event: Message {}

/// Something to do. Exactly one handler: sending a command nobody handles is an error, and
/// so is registering a second handler for it.
public protocol Command: Message {}

/// A question with one answer, handled by exactly one handler whose return value travels
/// back to the requester.
public protocol Request: Message {
    associatedtype Reply: Codable & Sendable
}
