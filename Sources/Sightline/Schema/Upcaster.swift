import Foundation

/// What an upcast step works on: a decoded older message, or the JSON document.
enum UpcastStage: Sendable {
    case value(any Message)
    case document(JSONValue)

    /// The stage as a JSON document (a decoded value is encoded through JSON).
    func document() throws -> JSONValue {
        switch self {
        case .document(let document): document
        case .value(let value): try JSONValue(encoding: value)
        }
    }

    /// The stage as a value of `type` (a document or another type goes through JSON).
    func value<Value: Message>(as type: Value.Type) throws -> Value {
        if case .value(let value as Value) = self { return value }
        return try document().decode(Value.self)
    }
}

/// Upgrades a message written at an older schema version toward `Target`, the version a
/// consumer handles. A consumer of version N registers one upcaster per older version it
/// still reads; they chain (1 → 2 → N), so each is written against its next version only.
///
/// ```swift
/// try await bus.subscribe(
///     to: OrderPlacedV3.self, group: "billing",
///     upcasting: [
///         Upcaster(from: OrderPlacedV1.self, to: OrderPlacedV2.self) { v1 in
///             OrderPlacedV2(order: v1.order, currency: "USD")
///         },
///         Upcaster(fromVersion: 2) { document in   // version 2 → 3 over the JSON form
///             var document = document
///             document["channel"] = "web"
///             return document
///         },
///     ]
/// ) { order, context in … }
/// ```
///
/// An older message is decoded with its own type's codec (or parsed as JSON for a document
/// step), passed through each step in order, and becomes `Target` before the handler runs.
/// A step that throws makes the message `undecodable`.
public struct Upcaster<Target: Message>: Sendable {
    /// The version this step reads.
    public let fromVersion: Int
    /// The version this step produces.
    public let toVersion: Int
    /// What the step reads, for messages: a Swift type name or `JSON`.
    let origin: String
    /// Reads the payload when this step is the first of a chain.
    let read: @Sendable (_ payload: Data, _ contentType: String) throws -> UpcastStage
    let apply: @Sendable (UpcastStage) throws -> UpcastStage

    /// A step from `Old` straight to the handled type.
    public init<Old: Message>(
        from old: Old.Type, _ transform: @escaping @Sendable (Old) throws -> Target
    ) {
        self.init(from: old, to: Target.self, transform)
    }

    /// A step from `Old` to an intermediate version `New`, which a later step upgrades.
    public init<Old: Message, New: Message>(
        from old: Old.Type, to new: New.Type,
        _ transform: @escaping @Sendable (Old) throws -> New
    ) {
        fromVersion = Old.schemaVersion
        toVersion = New.schemaVersion
        origin = String(describing: Old.self)
        read = { payload, contentType in
            let codec = Old.payloadCodec
            guard codec.accepts(contentType: contentType) else {
                throw ContentTypeMismatch(contentType: contentType, expected: codec.contentType)
            }
            return .value(try codec.decode(Old.self, from: payload))
        }
        apply = { stage in .value(try transform(try stage.value(as: Old.self))) }
    }

    /// A step over the JSON document, from `fromVersion` to `toVersion` (by default the
    /// next version). The document is the payload as received, or the previous step's
    /// result encoded as JSON.
    public init(
        fromVersion: Int, toVersion: Int? = nil,
        _ transform: @escaping @Sendable (JSONValue) throws -> JSONValue
    ) {
        self.fromVersion = fromVersion
        self.toVersion = toVersion ?? fromVersion + 1
        origin = "JSON"
        read = { payload, contentType in
            guard JSONPayloadCodec().accepts(contentType: contentType) else {
                throw ContentTypeMismatch(contentType: contentType, expected: "application/json")
            }
            return .document(try JSONValue(parsing: payload))
        }
        apply = { stage in .document(try transform(try stage.document())) }
    }
}

/// The envelope's content type is not one the codec reads.
struct ContentTypeMismatch: Error, CustomStringConvertible {
    var contentType: String
    var expected: String

    var description: String { "content type '\(contentType)' is not \(expected)" }
}
