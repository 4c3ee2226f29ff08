import Foundation

/// The shape a type asked its decoder for, filled in as its `init(from:)` runs.
final class RecordedShape {
    enum Kind {
        case nothing
        case object(fields: [String: (slot: RecordedSlot, isRequired: Bool)])
        case array(element: RecordedSlot?)
        case value(SchemaType?)
    }

    var kind = Kind.nothing

    var schema: SchemaType {
        switch kind {
        case .nothing:
            return .object([])
        case .object(let fields):
            return .object(
                fields.keys.sorted().map { name in
                    let entry = fields[name]!
                    return SchemaField(
                        name: name, type: entry.slot.schema, isRequired: entry.isRequired)
                })
        case .array(let element):
            // An unkeyed container nobody read from: the element's shape is unknown.
            return .array(element?.schema ?? .reference("unknown"))
        case .value(let type):
            return type ?? .reference("unknown")
        }
    }

    /// Records a field; a field read twice is required when either read required it.
    func record(field name: String, _ slot: RecordedSlot, isRequired: Bool) {
        var fields: [String: (slot: RecordedSlot, isRequired: Bool)] = [:]
        if case .object(let existing) = kind { fields = existing }
        let required = isRequired || (fields[name]?.isRequired ?? false)
        fields[name] = (slot, required)
        kind = .object(fields: fields)
    }

    func recordElement(_ slot: RecordedSlot) {
        if case .array(.some) = kind { return }
        kind = .array(element: slot)
    }
}

/// A field's or element's shape: known at once, or a nested container still being filled.
enum RecordedSlot {
    case type(SchemaType)
    case nested(RecordedShape)

    var schema: SchemaType {
        switch self {
        case .type(let type): type
        case .nested(let shape): shape.schema
        }
    }
}

/// A `Decoder` that records what a type reads instead of reading anything.
final class RecordingDecoder: Decoder {
    let walker: SchemaWalker
    let path: String
    let shape: RecordedShape

    init(walker: SchemaWalker, path: String, shape: RecordedShape = RecordedShape()) {
        self.walker = walker
        self.path = path
        self.shape = shape
    }

    var codingPath: [any CodingKey] { [] }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if case .object = shape.kind {} else { shape.kind = .object(fields: [:]) }
        return KeyedDecodingContainer(KeyedRecorder<Key>(walker: walker, path: path, shape: shape))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        if case .array = shape.kind {} else { shape.kind = .array(element: nil) }
        return UnkeyedRecorder(walker: walker, path: path + "[]", shape: shape)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        if case .value = shape.kind {} else { shape.kind = .value(nil) }
        return SingleValueRecorder(walker: walker, path: path, shape: shape)
    }

    /// Describes `type` at `path` and returns its placeholder instance.
    static func placeholder<Value: Decodable>(
        _ type: Value.Type, walker: SchemaWalker, path: String
    ) throws -> (SchemaType, Value) {
        let described = try walker.describe(type, path: path)
        guard let instance = described.instance as? Value else {
            throw SchemaDescriptionError(
                typeName: String(describing: type), path: path,
                message: "no placeholder value can be made; make the enumeration CaseIterable "
                    + "or decode the field with decodeIfPresent")
        }
        return (described.schema, instance)
    }
}

/// Records keyed fields.
struct KeyedRecorder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let walker: SchemaWalker
    let path: String
    let shape: RecordedShape

    var codingPath: [any CodingKey] { [] }

    var allKeys: [Key] { [] }

    func contains(_ key: Key) -> Bool { true }

    func decodeNil(forKey key: Key) throws -> Bool { false }

    private func required<Value: Decodable>(_ type: Value.Type, _ key: Key) throws -> Value {
        let fieldPath = path + "." + key.stringValue
        let (schema, value) = try RecordingDecoder.placeholder(
            type, walker: walker, path: fieldPath)
        shape.record(field: key.stringValue, .type(schema), isRequired: true)
        return value
    }

    private func optional<Value: Decodable>(_ type: Value.Type, _ key: Key) throws -> Value? {
        let described = try walker.describe(type, path: path + "." + key.stringValue)
        shape.record(field: key.stringValue, .type(described.schema), isRequired: false)
        return nil
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try required(type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try required(type, key)
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try required(type, key)
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try required(type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try required(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try required(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try required(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try required(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try required(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try required(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try required(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try required(type, key)
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try required(type, key)
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try required(type, key)
    }
    func decode<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value {
        try required(type, key)
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? {
        try optional(type, key)
    }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? {
        try optional(type, key)
    }
    func decodeIfPresent<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws
        -> Value?
    {
        try optional(type, key)
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let nested = RecordedShape()
        nested.kind = .object(fields: [:])
        shape.record(field: key.stringValue, .nested(nested), isRequired: true)
        return KeyedDecodingContainer(
            KeyedRecorder<NestedKey>(
                walker: walker, path: path + "." + key.stringValue, shape: nested))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let nested = RecordedShape()
        nested.kind = .array(element: nil)
        shape.record(field: key.stringValue, .nested(nested), isRequired: true)
        return UnkeyedRecorder(
            walker: walker, path: path + "." + key.stringValue + "[]", shape: nested)
    }

    func superDecoder() throws -> any Decoder {
        try superDecoder(named: "super")
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        try superDecoder(named: key.stringValue)
    }

    private func superDecoder(named name: String) throws -> any Decoder {
        let nested = RecordedShape()
        shape.record(field: name, .nested(nested), isRequired: true)
        return RecordingDecoder(walker: walker, path: path + "." + name, shape: nested)
    }
}

/// Records the element of an unkeyed container: the first read names it, then the container
/// reports its end, so a decoding loop runs once.
struct UnkeyedRecorder: UnkeyedDecodingContainer {
    let walker: SchemaWalker
    let path: String
    let shape: RecordedShape

    var codingPath: [any CodingKey] { [] }

    var count: Int? { nil }

    var isAtEnd: Bool {
        if case .array(let element) = shape.kind { return element != nil }
        return false
    }

    var currentIndex: Int { isAtEnd ? 1 : 0 }

    mutating func decodeNil() throws -> Bool { false }

    private func element<Value: Decodable>(_ type: Value.Type) throws -> Value {
        let (schema, value) = try RecordingDecoder.placeholder(type, walker: walker, path: path)
        shape.recordElement(.type(schema))
        return value
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try element(type) }
    mutating func decode(_ type: String.Type) throws -> String { try element(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try element(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try element(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try element(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try element(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try element(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try element(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try element(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try element(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try element(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try element(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try element(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try element(type) }
    mutating func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        try element(type)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let nested = RecordedShape()
        nested.kind = .object(fields: [:])
        shape.recordElement(.nested(nested))
        return KeyedDecodingContainer(
            KeyedRecorder<NestedKey>(walker: walker, path: path, shape: nested))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let nested = RecordedShape()
        nested.kind = .array(element: nil)
        shape.recordElement(.nested(nested))
        return UnkeyedRecorder(walker: walker, path: path + "[]", shape: nested)
    }

    mutating func superDecoder() throws -> any Decoder {
        let nested = RecordedShape()
        shape.recordElement(.nested(nested))
        return RecordingDecoder(walker: walker, path: path, shape: nested)
    }
}

/// Records the one value of a single-value container.
struct SingleValueRecorder: SingleValueDecodingContainer {
    let walker: SchemaWalker
    let path: String
    let shape: RecordedShape

    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { false }

    private func value<Value: Decodable>(_ type: Value.Type) throws -> Value {
        let (schema, value) = try RecordingDecoder.placeholder(type, walker: walker, path: path)
        shape.kind = .value(schema)
        return value
    }

    func decode(_ type: Bool.Type) throws -> Bool { try value(type) }
    func decode(_ type: String.Type) throws -> String { try value(type) }
    func decode(_ type: Double.Type) throws -> Double { try value(type) }
    func decode(_ type: Float.Type) throws -> Float { try value(type) }
    func decode(_ type: Int.Type) throws -> Int { try value(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try value(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try value(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try value(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try value(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try value(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try value(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try value(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try value(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try value(type) }
    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value { try value(type) }
}
