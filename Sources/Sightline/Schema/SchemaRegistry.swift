/// The message types a service declares, described for snapshots and compatibility checks.
///
/// A service lists its types once (`SchemaRegistry([OrderPlacedV1.self, OrderPlaced.self])`);
/// the `sightline schema` commands and the service's tests read the descriptions.
public struct SchemaRegistry: Sendable {
    /// The descriptions, sorted by message type, then version.
    public private(set) var schemas: [MessageSchema] = []

    public init() {}

    /// Describes and registers every type.
    ///
    /// - Throws: ``SchemaDescriptionError`` or ``SchemaRegistryError`` as ``register(_:)``.
    public init(_ types: [any Message.Type]) throws {
        for type in types {
            try register(type)
        }
    }

    /// Describes `type` and registers it.
    ///
    /// - Throws: ``SchemaDescriptionError`` when the type cannot be described,
    ///   ``SchemaRegistryError`` when another type already holds its name and version.
    public mutating func register(_ type: any Message.Type) throws {
        let schema = try Self.describe(type)
        if let existing = schemas.first(where: {
            $0.messageType == schema.messageType && $0.schemaVersion == schema.schemaVersion
        }) {
            throw SchemaRegistryError(
                message: "\(schema.label) is declared by both \(existing.swiftType) and "
                    + "\(schema.swiftType)")
        }
        schemas.append(schema)
        schemas.sort { ($0.messageType, $0.schemaVersion) < ($1.messageType, $1.schemaVersion) }
    }

    private static func describe<M: Message>(_ type: M.Type) throws -> MessageSchema {
        try MessageSchema(describing: type)
    }

    /// The description of a type at a version, if registered.
    public func schema(messageType: String, version: Int) -> MessageSchema? {
        schemas.first { $0.messageType == messageType && $0.schemaVersion == version }
    }
}

/// Two types claim the same message type and version.
public struct SchemaRegistryError: Error, Hashable, CustomStringConvertible {
    public var message: String

    public var description: String { message }
}
