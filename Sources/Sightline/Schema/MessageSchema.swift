/// The description of one message type at one schema version: the contract a snapshot
/// file holds and `sightline schema check` compares.
public struct MessageSchema: Hashable, Sendable {
    /// The type's stable name on the wire (``Message/messageType``).
    public var messageType: String
    public var schemaVersion: Int
    public var channel: String
    /// The Swift type's name, used to tell a renamed message type from a removed one.
    public var swiftType: String
    /// True when the type's codec rejects unknown fields.
    public var rejectsUnknownFields: Bool
    /// The payload's shape.
    public var payload: SchemaType

    public init(
        messageType: String, schemaVersion: Int, channel: String, swiftType: String,
        rejectsUnknownFields: Bool, payload: SchemaType
    ) {
        self.messageType = messageType
        self.schemaVersion = schemaVersion
        self.channel = channel
        self.swiftType = swiftType
        self.rejectsUnknownFields = rejectsUnknownFields
        self.payload = payload
    }

    /// Describes a message type from its Swift declaration.
    ///
    /// - Throws: ``SchemaDescriptionError`` when the type cannot be walked without an
    ///   instance (see ``SchemaDescriber``).
    public init<M: Message>(describing type: M.Type) throws {
        self.init(
            messageType: M.messageType, schemaVersion: M.schemaVersion, channel: M.channel,
            swiftType: String(describing: M.self),
            rejectsUnknownFields: M.payloadCodec.rejectsUnknownFields,
            payload: try SchemaDescriber.describe(M.self))
    }

    /// The name of the snapshot file: `<message type>.v<version>.json`.
    public var fileName: String { "\(messageType).v\(schemaVersion).json" }

    /// `demo.OrderPlaced v2`, for messages.
    public var label: String { "\(messageType) v\(schemaVersion)" }
}
