import Sightline
import Testing

@Suite struct SchemaCompatibilityTests {
    static func schema(
        _ fields: [SchemaField], type: String = "test.Order", swiftType: String = "Order",
        strict: Bool = false
    ) -> MessageSchema {
        MessageSchema(
            messageType: type, schemaVersion: 1, channel: "orders", swiftType: swiftType,
            rejectsUnknownFields: strict, payload: .object(fields))
    }

    static let id = SchemaField(name: "id", type: .integer, isRequired: true)
    static let note = SchemaField(name: "note", type: .string, isRequired: false)
    static let currency = SchemaField(name: "currency", type: .string, isRequired: true)

    /// A before/after pair and whether it breaks backward, forward and full.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var before: [SchemaField]
        var after: [SchemaField]
        var backward: Bool
        var forward: Bool

        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "optional field added", before: [id], after: [id, note], backward: false,
            forward: false),
        Case(
            name: "required field added", before: [id], after: [id, currency], backward: true,
            forward: false),
        Case(
            name: "required field removed", before: [id, currency], after: [id],
            backward: false, forward: true),
        Case(
            name: "optional field removed", before: [id, note], after: [id], backward: false,
            forward: false),
        Case(
            name: "type changed", before: [id],
            after: [SchemaField(name: "id", type: .string, isRequired: true)], backward: true,
            forward: true),
        Case(
            name: "integer widened", before: [id],
            after: [SchemaField(name: "id", type: .number, isRequired: true)], backward: false,
            forward: true),
        Case(
            name: "optional became required", before: [id, note],
            after: [id, SchemaField(name: "note", type: .string, isRequired: true)],
            backward: true, forward: false),
        Case(
            name: "enum case added",
            before: [
                SchemaField(name: "s", type: .enumeration(.string, cases: ["a"]), isRequired: true)
            ],
            after: [
                SchemaField(
                    name: "s", type: .enumeration(.string, cases: ["a", "b"]), isRequired: true)
            ], backward: false, forward: true),
        Case(
            name: "nested type changed",
            before: [SchemaField(name: "lines", type: .array(.object([id])), isRequired: true)],
            after: [
                SchemaField(
                    name: "lines",
                    type: .array(
                        .object([SchemaField(name: "id", type: .boolean, isRequired: true)])),
                    isRequired: true)
            ], backward: true, forward: true),
        Case(
            name: "unchanged", before: [id, note], after: [id, note], backward: false,
            forward: false),
    ]

    @Test(arguments: cases)
    func check_givesTheExpectedVerdictPerMode(_ pair: Case) {
        let before = [Self.schema(pair.before)]
        let after = [Self.schema(pair.after)]

        func breaks(_ mode: CompatibilityMode) -> Bool {
            !SchemaCompatibility.breakingChanges(committed: before, current: after, mode: mode)
                .isEmpty
        }

        #expect(breaks(.backward) == pair.backward)
        #expect(breaks(.forward) == pair.forward)
        #expect(breaks(.full) == (pair.backward || pair.forward))
    }

    @Test func check_requiredFieldAdded_namesTypeVersionAndPath() {
        let changes = SchemaCompatibility.breakingChanges(
            committed: [Self.schema([Self.id])], current: [Self.schema([Self.id, Self.currency])],
            mode: .backward)

        #expect(
            changes.map(\.description) == [
                "test.Order v1 $.currency: field_added: new required field string (breaks backward)"
            ])
    }

    @Test func check_renamedMessageType_breaksEveryMode() {
        let changes = SchemaCompatibility.breakingChanges(
            committed: [Self.schema([Self.id])],
            current: [Self.schema([Self.id], type: "test.Purchase")], mode: .backward)

        #expect(changes.map(\.kind) == [.messageTypeRenamed])
        #expect(changes.first?.path == "$")
        #expect(changes.first?.messageType == "test.Order")
    }

    @Test func check_removedMessageType_breaksAndNewTypeDoesNot() {
        let changes = SchemaCompatibility.changes(
            committed: [Self.schema([Self.id])],
            current: [Self.schema([Self.id], type: "test.Refund", swiftType: "Refund")])

        #expect(changes.map(\.kind) == [.messageTypeRemoved, .messageTypeAdded])
        #expect(changes.map { $0.isBreaking(in: .full) } == [true, false])
    }

    @Test func check_strictReader_breaksForwardOnAnyAddedField() {
        let changes = SchemaCompatibility.breakingChanges(
            committed: [Self.schema([Self.id], strict: true)],
            current: [Self.schema([Self.id, Self.note], strict: true)], mode: .forward)

        #expect(changes.map(\.kind) == [.fieldAdded])
    }
}
