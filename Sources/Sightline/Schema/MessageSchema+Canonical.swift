import Foundation

// The canonical form is a small subset of JSON Schema (2020-12) for the payload, wrapped in
// Sightline's own fields, so that other languages can validate payloads against a snapshot:
//
//   {"message_type": …, "schema_version": …, "channel": …, "swift_type": …,
//    "rejects_unknown_fields": …, "payload": <schema>}
//
// <schema> is {"type": "string"|"integer"|"number"|"boolean"}, a date
// {"type": "string", "format": "date-time"}, bytes {"type": "string", "contentEncoding":
// "base64"}, an object {"type": "object", "properties": {…}, "required": […]}, an array
// {"type": "array", "items": …}, a map {"type": "object", "additionalProperties": …}, an
// optional {"anyOf": [<schema>, {"type": "null"}]}, an enumeration <raw schema> + {"enum":
// […]}, or a recursive reference {"x-sightline-reference": "<Swift type>"}.

extension MessageSchema {
    /// The canonical JSON text: keys sorted, two-space indentation, a final newline.
    public func canonicalJSON() throws -> Data {
        var text = try canonicalDocument.encoded(pretty: true)
        text.append(0x0A)
        return text
    }

    /// The canonical form as a JSON value.
    public var canonicalDocument: JSONValue {
        .object([
            "message_type": .string(messageType),
            "schema_version": .integer(Int64(schemaVersion)),
            "channel": .string(channel),
            "swift_type": .string(swiftType),
            "rejects_unknown_fields": .bool(rejectsUnknownFields),
            "payload": payload.canonicalDocument(strict: rejectsUnknownFields),
        ])
    }

    /// Reads a snapshot file's text.
    ///
    /// - Throws: ``SchemaFormatError`` naming the first member that is missing or malformed.
    public init(canonicalJSON data: Data) throws {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: data)
        } catch {
            throw SchemaFormatError(path: "$", message: "not JSON: \(error)")
        }
        func member(_ name: String) throws -> JSONValue {
            guard let value = document[name] else {
                throw SchemaFormatError(path: "$.\(name)", message: "missing")
            }
            return value
        }
        func string(_ name: String) throws -> String {
            guard let text = try member(name).stringValue else {
                throw SchemaFormatError(path: "$.\(name)", message: "not a string")
            }
            return text
        }
        guard let version = try member("schema_version").integerValue else {
            throw SchemaFormatError(path: "$.schema_version", message: "not an integer")
        }
        guard case .bool(let strict) = try member("rejects_unknown_fields") else {
            throw SchemaFormatError(path: "$.rejects_unknown_fields", message: "not a boolean")
        }
        self.init(
            messageType: try string("message_type"), schemaVersion: Int(version),
            channel: try string("channel"), swiftType: try string("swift_type"),
            rejectsUnknownFields: strict,
            payload: try SchemaType(canonical: try member("payload"), path: "$.payload"))
    }
}

/// A snapshot file is not in the canonical form.
public struct SchemaFormatError: Error, Hashable, CustomStringConvertible {
    /// Where in the file, such as `$.payload.properties.day`.
    public var path: String
    public var message: String

    public var description: String { "\(path): \(message)" }
}

extension SchemaType {
    /// The JSON Schema form; `strict` adds `"additionalProperties": false` to the root
    /// object.
    func canonicalDocument(strict: Bool = false) -> JSONValue {
        switch self {
        case .string: return ["type": "string"]
        case .integer: return ["type": "integer"]
        case .number: return ["type": "number"]
        case .boolean: return ["type": "boolean"]
        case .date: return ["type": "string", "format": "date-time"]
        case .bytes: return ["type": "string", "contentEncoding": "base64"]
        case .object(let fields):
            var document: JSONValue = [
                "type": "object",
                "properties": .object(
                    Dictionary(
                        uniqueKeysWithValues: fields.map { ($0.name, $0.type.canonicalDocument()) }
                    )),
                "required": .array(fields.filter(\.isRequired).map { .string($0.name) }),
            ]
            if strict { document["additionalProperties"] = false }
            return document
        case .array(let element):
            return ["type": "array", "items": element.canonicalDocument()]
        case .map(let value):
            return ["type": "object", "additionalProperties": value.canonicalDocument()]
        case .optional(let wrapped):
            return ["anyOf": [wrapped.canonicalDocument(), ["type": "null"]]]
        case .enumeration(let raw, let cases):
            var document = raw.canonicalDocument()
            if let cases { document["enum"] = .array(cases) }
            return document
        case .reference(let name):
            return ["x-sightline-reference": .string(name)]
        }
    }

    init(canonical document: JSONValue, path: String) throws {
        func fail(_ message: String) -> SchemaFormatError {
            SchemaFormatError(path: path, message: message)
        }
        if let name = document["x-sightline-reference"]?.stringValue {
            self = .reference(name)
            return
        }
        if let choices = document["anyOf"]?.arrayValue {
            guard choices.count == 2, choices[1] == ["type": "null"] else {
                throw fail("anyOf must hold a schema and {\"type\": \"null\"}")
            }
            self = .optional(try SchemaType(canonical: choices[0], path: path + ".anyOf[0]"))
            return
        }

        var base = document
        let cases = base["enum"]?.arrayValue
        base["enum"] = nil
        let type = try Self.baseType(base, path: path)
        self = cases.map { .enumeration(type, cases: $0) } ?? type
    }

    private static func baseType(_ document: JSONValue, path: String) throws -> SchemaType {
        func fail(_ message: String) -> SchemaFormatError {
            SchemaFormatError(path: path, message: message)
        }
        switch document["type"]?.stringValue {
        case "string":
            if document["format"]?.stringValue == "date-time" { return .date }
            if document["contentEncoding"]?.stringValue == "base64" { return .bytes }
            return .string
        case "integer": return .integer
        case "number": return .number
        case "boolean": return .boolean
        case "array":
            guard let items = document["items"] else { throw fail("an array needs items") }
            return .array(try SchemaType(canonical: items, path: path + ".items"))
        case "object":
            if let properties = document["properties"]?.objectValue {
                let required = Set(
                    document["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
                let fields = try properties.keys.sorted().map { name in
                    SchemaField(
                        name: name,
                        type: try SchemaType(
                            canonical: properties[name]!, path: path + ".properties." + name),
                        isRequired: required.contains(name))
                }
                return .object(fields)
            }
            guard let values = document["additionalProperties"], values.objectValue != nil else {
                throw fail("an object needs properties or additionalProperties")
            }
            return .map(try SchemaType(canonical: values, path: path + ".additionalProperties"))
        case let other:
            throw fail("unknown type \(other.map { "'\($0)'" } ?? "(none)")")
        }
    }
}

extension JSONValue: ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    public init(arrayLiteral elements: JSONValue...) {
        self = .array(elements)
    }
}
