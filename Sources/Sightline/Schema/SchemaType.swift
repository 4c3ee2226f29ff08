/// The shape of a value in a message's payload, as derived from its Swift type.
public indirect enum SchemaType: Hashable, Sendable {
    case string
    case integer
    case number
    case boolean
    /// A date, written as an ISO 8601 string.
    case date
    /// Bytes, written as a base64 string.
    case bytes
    /// An object with named fields, sorted by name.
    case object([SchemaField])
    /// A list whose elements all have this shape.
    case array(SchemaType)
    /// An object used as a dictionary: any keys, values of this shape.
    case map(SchemaType)
    /// A value that may be `null` (an optional element, or a key decoded as `T?`).
    case optional(SchemaType)
    /// A value from a fixed set: the raw value's shape and, when the Swift type is
    /// `CaseIterable`, every allowed raw value.
    case enumeration(SchemaType, cases: [JSONValue]?)
    /// A type met again inside itself (a recursive type), by its Swift name.
    case reference(String)

    /// A short name for messages: `string`, `array of integer`, `optional date`, …
    public var summary: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .number: "number"
        case .boolean: "boolean"
        case .date: "date"
        case .bytes: "bytes"
        case .object: "object"
        case .array(let element): "array of \(element.summary)"
        case .map(let value): "map of \(value.summary)"
        case .optional(let wrapped): "optional \(wrapped.summary)"
        case .enumeration(let raw, _): "enumeration of \(raw.summary)"
        case .reference(let name): "reference to \(name)"
        }
    }
}

/// One named field of an object.
public struct SchemaField: Hashable, Sendable {
    public var name: String
    public var type: SchemaType
    /// False when the type decodes the field with `decodeIfPresent` (a Swift optional).
    public var isRequired: Bool

    public init(name: String, type: SchemaType, isRequired: Bool) {
        self.name = name
        self.type = type
        self.isRequired = isRequired
    }
}
