import Foundation
import Sightline
import Testing

private struct Catalogue: Decodable {
    enum Format: String, Codable, CaseIterable {
        case compactDisc = "cd"
        case vinyl
    }

    struct Track: Decodable {
        var title: String
        var seconds: Double
    }

    var name: String
    var released: Date
    var format: Format
    var tracks: [Track]
    var tags: Set<String>
    var ratings: [String: Int]
    var notes: String?
    var alternates: [Int?]
    var cover: Data
}

private final class Node: Decodable {
    var value: Int
    var children: [Node]
}

private struct Money: Decodable {
    var cents: Int64

    init(from decoder: any Decoder) throws {
        cents = try decoder.singleValueContainer().decode(Int64.self)
    }
}

private enum Shape: Decodable {
    case circle
}

@Suite struct SchemaDescriberTests {
    @Test func describe_recordsFieldsOptionalsArraysMapsEnumsAndNesting() throws {
        let schema = try SchemaDescriber.describe(Catalogue.self)

        #expect(
            schema
                == .object([
                    SchemaField(
                        name: "alternates", type: .array(.optional(.integer)), isRequired: true),
                    SchemaField(name: "cover", type: .bytes, isRequired: true),
                    SchemaField(
                        name: "format", type: .enumeration(.string, cases: ["cd", "vinyl"]),
                        isRequired: true),
                    SchemaField(name: "name", type: .string, isRequired: true),
                    SchemaField(name: "notes", type: .string, isRequired: false),
                    SchemaField(name: "ratings", type: .map(.integer), isRequired: true),
                    SchemaField(name: "released", type: .date, isRequired: true),
                    SchemaField(name: "tags", type: .array(.string), isRequired: true),
                    SchemaField(
                        name: "tracks",
                        type: .array(
                            .object([
                                SchemaField(name: "seconds", type: .number, isRequired: true),
                                SchemaField(name: "title", type: .string, isRequired: true),
                            ])),
                        isRequired: true),
                ]))
    }

    @Test func describe_whenTypeIsRecursive_endsInAReference() throws {
        let schema = try SchemaDescriber.describe(Node.self)

        #expect(
            schema
                == .object([
                    SchemaField(
                        name: "children", type: .array(.reference("Node")), isRequired: true),
                    SchemaField(name: "value", type: .integer, isRequired: true),
                ]))
    }

    @Test func describe_singleValueType_isItsValue() throws {
        #expect(try SchemaDescriber.describe(Money.self) == .integer)
    }

    @Test func describe_enumWithoutRawValues_throwsNamingTheType() throws {
        #expect(throws: SchemaDescriptionError.self) {
            try SchemaDescriber.describe(Shape.self)
        }
    }

    @Test func canonicalJSON_roundTripsEveryShape() throws {
        let schema = MessageSchema(
            messageType: "test.Catalogue", schemaVersion: 4, channel: "music",
            swiftType: "Catalogue", rejectsUnknownFields: true,
            payload: try SchemaDescriber.describe(Catalogue.self))

        let text = try schema.canonicalJSON()
        let reread = try MessageSchema(canonicalJSON: text)

        #expect(reread == schema)
        #expect(schema.fileName == "test.Catalogue.v4.json")
        let document = try JSONValue(parsing: text)
        #expect(document["payload"]?["additionalProperties"] == false)
        #expect(
            document["payload"]?["properties"]?["released"] == [
                "type": "string", "format": "date-time",
            ])
    }

    @Test func registry_whenTwoTypesClaimOneVersion_throws() throws {
        #expect(throws: SchemaRegistryError.self) {
            try SchemaRegistry([ParcelV1.self, ParcelV1.self])
        }
        let registry = try SchemaRegistry([ParcelV2.self, ParcelV1.self])
        #expect(registry.schemas.map(\.label) == ["test.Parcel v1", "test.Parcel v2"])
    }
}
