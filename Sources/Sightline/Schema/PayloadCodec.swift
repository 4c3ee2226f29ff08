import Foundation

/// How a message type's payload becomes bytes and back. A message type chooses its codec
/// with ``Message/payloadCodec``; the default is ``JSONPayloadCodec`` through `Codable`.
///
/// Implementations MUST be deterministic for equal values and MUST NOT do I/O.
public protocol PayloadCodec: Sendable {
    /// The content type written into every envelope the codec encodes.
    var contentType: String { get }

    /// True when decoding refuses payloads with fields the type does not decode; recorded
    /// in the type's schema description. Defaults to false.
    var rejectsUnknownFields: Bool { get }

    func encode<Value: Encodable>(_ value: Value) throws -> Data

    func decode<Value: Decodable>(_ type: Value.Type, from data: Data) throws -> Value

    /// Whether a payload of `contentType` can be decoded by this codec. The default accepts
    /// the codec's own media type (parameters such as `charset` ignored).
    func accepts(contentType: String) -> Bool
}

extension PayloadCodec {
    public var rejectsUnknownFields: Bool { false }

    public func accepts(contentType: String) -> Bool {
        contentType == self.contentType
            || Self.mediaType(contentType) == Self.mediaType(self.contentType)
    }

    /// The media type without parameters, lowercased: `application/json; charset=utf-8`
    /// gives `application/json`.
    static func mediaType(_ contentType: String) -> String {
        let base = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        return base.trimmingCharacters(in: .whitespaces).lowercased()
    }
}

/// What a strict codec does with payload fields the type does not decode.
public enum UnknownFieldPolicy: String, Hashable, Sendable {
    /// Ignore them: additive changes stay compatible (the default).
    case ignore
    /// Refuse the payload; the message is dead-lettered as `undecodable`.
    case reject
}

/// JSON through `Codable`: sorted keys, dates as ISO 8601.
///
/// With ``UnknownFieldPolicy/reject`` the payload's members are compared, at every level,
/// with the fields the type decodes (found by walking the type with a recording decoder,
/// see ``SchemaDescriber``); any extra member refuses the payload with
/// ``UnknownFieldsError``.
public struct JSONPayloadCodec: PayloadCodec {
    public var unknownFields: UnknownFieldPolicy

    public init(unknownFields: UnknownFieldPolicy = .ignore) {
        self.unknownFields = unknownFields
    }

    public var contentType: String { "application/json" }

    public var rejectsUnknownFields: Bool { unknownFields == .reject }

    /// Accepts any JSON media type (`application/json`, `…+json`) and envelopes that name no
    /// type of their own (`application/octet-stream`, the header form's default, or empty).
    public func accepts(contentType: String) -> Bool {
        // The common case, checked first: it runs for every delivery.
        if contentType == "application/json" { return true }
        let media = Self.mediaType(contentType)
        return media == "application/json" || media.hasSuffix("+json")
            || media == "application/octet-stream" || media.isEmpty
    }

    public func encode<Value: Encodable>(_ value: Value) throws -> Data {
        try JSONEncoder.sightlinePayload().encode(value)
    }

    public func decode<Value: Decodable>(_ type: Value.Type, from data: Data) throws -> Value {
        let value = try JSONDecoder.sightlinePayload().decode(type, from: data)
        guard unknownFields == .reject else { return value }

        let schema = try SchemaDescriber.cachedDescription(of: type)
        let unknown = UnknownFieldsError.unknownPaths(
            in: try JSONValue(parsing: data), expected: schema, path: "$")
        guard unknown.isEmpty else {
            throw UnknownFieldsError(typeName: String(describing: type), paths: unknown)
        }
        return value
    }
}

/// A strict codec found payload members the type does not decode.
public struct UnknownFieldsError: Error, Hashable, CustomStringConvertible {
    /// The Swift type that was decoded.
    public var typeName: String
    /// Where each unknown member is, such as `$.customer.nickname`.
    public var paths: [String]

    public init(typeName: String, paths: [String]) {
        self.typeName = typeName
        self.paths = paths
    }

    public var description: String {
        "\(typeName) does not decode the field(s) \(paths.joined(separator: ", "))"
    }

    /// The members of `value` that `expected` does not describe, depth first, sorted.
    static func unknownPaths(in value: JSONValue, expected: SchemaType, path: String)
        -> [String]
    {
        switch (expected, value) {
        case (.optional(let wrapped), _):
            return unknownPaths(in: value, expected: wrapped, path: path)
        case (.object(let fields), .object(let members)):
            var found: [String] = []
            for name in members.keys.sorted() {
                let memberPath = path + "." + name
                guard let field = fields.first(where: { $0.name == name }) else {
                    found.append(memberPath)
                    continue
                }
                found += unknownPaths(in: members[name]!, expected: field.type, path: memberPath)
            }
            return found
        case (.array(let element), .array(let elements)):
            return elements.enumerated().flatMap { index, element2 in
                unknownPaths(in: element2, expected: element, path: "\(path)[\(index)]")
            }
        case (.map(let valueType), .object(let members)):
            return members.keys.sorted().flatMap { key in
                unknownPaths(in: members[key]!, expected: valueType, path: "\(path).\(key)")
            }
        default:
            return []
        }
    }
}
