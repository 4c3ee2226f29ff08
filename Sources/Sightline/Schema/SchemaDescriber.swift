import Foundation
import Synchronization

/// Derives a ``SchemaType`` from a `Decodable` Swift type, without an instance, so that a
/// message's contract is read from the code and cannot drift from it.
///
/// The type's `init(from:)` runs against a recording decoder that answers every request
/// with a placeholder value (empty string, zero, false, the Unix epoch, an enumeration's
/// first case) and writes down each field's name, shape and whether it was read with
/// `decodeIfPresent`. Standard containers (`Optional`, `Array`, `Set`, `Dictionary`), dates,
/// data, URLs, UUIDs and `RawRepresentable` types (enumerated when `CaseIterable`) are
/// recognised by type; nested types are walked recursively, and a type met inside itself
/// becomes a ``SchemaType/reference(_:)``.
///
/// What a walk cannot see: branches of a custom `init(from:)` that the placeholder values do
/// not take, and enumerations with associated values (only the path the decoder's answers
/// lead to is recorded).
public enum SchemaDescriber {
    /// Describes `type`.
    ///
    /// - Throws: ``SchemaDescriptionError`` when the type's `init(from:)` refuses the
    ///   placeholder values (for example a validating initializer, or an enumeration that is
    ///   neither `CaseIterable` nor built from a raw value).
    public static func describe<Value: Decodable>(_ type: Value.Type) throws -> SchemaType {
        try SchemaWalker().describe(type, path: "$").schema
    }

    // Bounded by the number of message types a process declares.
    private static let cache = Mutex<[ObjectIdentifier: SchemaType]>([:])

    /// ``describe(_:)`` remembered per type, for strict decoding on the delivery path.
    static func cachedDescription(of type: any Decodable.Type) throws -> SchemaType {
        let key = ObjectIdentifier(type)
        if let known = cache.withLock({ $0[key] }) { return known }

        let schema = try SchemaWalker().describe(type, path: "$").schema
        cache.withLock { $0[key] = schema }
        return schema
    }
}

/// A type could not be described.
public struct SchemaDescriptionError: Error, Hashable, CustomStringConvertible {
    /// The Swift type whose walk failed.
    public var typeName: String
    /// Where in the described type, such as `$.lines[].sku`.
    public var path: String
    public var message: String

    public var description: String { "cannot describe \(typeName) at \(path): \(message)" }
}

/// One walk over a type tree. Used synchronously by one caller at a time.
final class SchemaWalker {
    struct Described {
        var schema: SchemaType
        /// A placeholder instance, for the decoder to hand back to the type being walked.
        var instance: Any?
    }

    private var inProgress: Set<ObjectIdentifier> = []

    func describe(_ type: any Decodable.Type, path: String) throws -> Described {
        if let primitive = Self.primitive(type) { return primitive }

        if let container = type as? any SchemaContainer.Type {
            let element = try describe(
                container.schemaElementType, path: path + container.schemaPathSuffix)
            return Described(
                schema: container.schema(wrapping: element.schema),
                instance: container.schemaPlaceholder)
        }
        if let raw = type as? any RawRepresentable.Type {
            return try describeRaw(raw, path: path)
        }

        let identifier = ObjectIdentifier(type)
        if inProgress.contains(identifier) {
            return Described(schema: .reference(String(describing: type)), instance: nil)
        }
        inProgress.insert(identifier)
        defer { inProgress.remove(identifier) }

        let decoder = RecordingDecoder(walker: self, path: path)
        let instance: Any
        do {
            instance = try type.init(from: decoder)
        } catch let error as SchemaDescriptionError {
            throw error
        } catch {
            throw SchemaDescriptionError(
                typeName: String(describing: type), path: path,
                message: "its init(from:) refused the placeholder values: \(error)")
        }
        return Described(schema: decoder.shape.schema, instance: instance)
    }

    private func describeRaw<Raw: RawRepresentable>(_ type: Raw.Type, path: String) throws
        -> Described
    {
        guard let rawType = Raw.RawValue.self as? any Decodable.Type else {
            throw SchemaDescriptionError(
                typeName: String(describing: type), path: path,
                message: "its raw value type is not Decodable")
        }
        let raw = try describe(rawType, path: path)

        guard let iterable = type as? any CaseIterable.Type else {
            let instance = (raw.instance as? Raw.RawValue).flatMap { Raw(rawValue: $0) }
            return Described(schema: raw.schema, instance: instance)
        }
        let cases = Self.allCases(of: iterable).compactMap { $0 as? Raw }
        let values = cases.map { Self.jsonValue(of: $0.rawValue) }
        return Described(schema: .enumeration(raw.schema, cases: values), instance: cases.first)
    }

    private static func allCases<Iterable: CaseIterable>(of type: Iterable.Type) -> [Any] {
        Iterable.allCases.map { $0 }
    }

    private static func jsonValue(of raw: Any) -> JSONValue {
        switch raw {
        case let text as String: .string(text)
        case let value as any BinaryInteger: .integer(Int64(truncatingIfNeeded: value))
        case let value as Double: .number(value)
        case let value as Float: .number(Double(value))
        default: .string("\(raw)")
        }
    }

    private static func primitive(_ type: Any.Type) -> Described? {
        if type == String.self { return Described(schema: .string, instance: "") }
        if type == Bool.self { return Described(schema: .boolean, instance: false) }
        if type == Date.self {
            return Described(schema: .date, instance: Date(timeIntervalSince1970: 0))
        }
        if type == Data.self { return Described(schema: .bytes, instance: Data()) }
        if type == URL.self {
            return Described(schema: .string, instance: URL(fileURLWithPath: "/"))
        }
        if type == UUID.self { return Described(schema: .string, instance: UUID()) }
        if type == Decimal.self { return Described(schema: .number, instance: Decimal()) }
        if let integer = type as? any FixedWidthInteger.Type {
            return Described(schema: .integer, instance: zero(of: integer))
        }
        if let floating = type as? any BinaryFloatingPoint.Type {
            return Described(schema: .number, instance: zero(of: floating))
        }
        return nil
    }

    private static func zero<Integer: FixedWidthInteger>(of type: Integer.Type) -> Integer { 0 }

    private static func zero<Floating: BinaryFloatingPoint>(of type: Floating.Type) -> Floating {
        0
    }
}

/// A standard container the walker recognises by type rather than by walking it.
protocol SchemaContainer {
    static var schemaElementType: any Decodable.Type { get }
    static var schemaPathSuffix: String { get }
    static var schemaPlaceholder: Self { get }
    static func schema(wrapping element: SchemaType) -> SchemaType
}

extension Optional: SchemaContainer where Wrapped: Decodable {
    static var schemaElementType: any Decodable.Type { Wrapped.self }
    static var schemaPathSuffix: String { "" }
    static var schemaPlaceholder: Self { nil }
    static func schema(wrapping element: SchemaType) -> SchemaType { .optional(element) }
}

extension Array: SchemaContainer where Element: Decodable {
    static var schemaElementType: any Decodable.Type { Element.self }
    static var schemaPathSuffix: String { "[]" }
    static var schemaPlaceholder: Self { [] }
    static func schema(wrapping element: SchemaType) -> SchemaType { .array(element) }
}

extension Set: SchemaContainer where Element: Decodable {
    static var schemaElementType: any Decodable.Type { Element.self }
    static var schemaPathSuffix: String { "[]" }
    static var schemaPlaceholder: Self { [] }
    static func schema(wrapping element: SchemaType) -> SchemaType { .array(element) }
}

extension Dictionary: SchemaContainer where Key: Decodable, Value: Decodable {
    static var schemaElementType: any Decodable.Type { Value.self }
    static var schemaPathSuffix: String { "{}" }
    static var schemaPlaceholder: Self { [:] }
    static func schema(wrapping element: SchemaType) -> SchemaType { .map(element) }
}
