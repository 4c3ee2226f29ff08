/// Compares committed schemas with the current types: the rules `sightline schema check`
/// applies.
///
/// Schemas are matched by message type and version. Within one, a field only the current
/// type has breaks backward compatibility when it is required (old messages lack it); a
/// field only the committed schema has breaks forward compatibility when it was required
/// (old consumers need it). A strict reader (unknown fields rejected) also breaks on fields
/// the other side has and it lacks. A type change breaks both, except that an integer may
/// widen to a number backward (and narrow forward). Enumeration cases removed break
/// backward, cases added break forward. A committed type that is gone breaks both; one
/// whose Swift type is still registered under another name is reported as renamed.
public enum SchemaCompatibility {
    /// Every difference, breaking or not, sorted by message type, version and path.
    public static func changes(committed: [MessageSchema], current: [MessageSchema])
        -> [SchemaChange]
    {
        var changes: [SchemaChange] = []
        var renamedTargets: Set<String> = []

        for old in committed {
            if let new = current.first(where: {
                $0.messageType == old.messageType && $0.schemaVersion == old.schemaVersion
            }) {
                changes += compare(old, new)
                continue
            }
            if let new = current.first(where: { candidate in
                candidate.swiftType == old.swiftType
                    && candidate.schemaVersion == old.schemaVersion
                    && committed.allSatisfy { $0.messageType != candidate.messageType }
            }) {
                renamedTargets.insert(new.label)
                changes.append(
                    SchemaChange(
                        kind: .messageTypeRenamed, messageType: old.messageType,
                        version: old.schemaVersion, path: "$",
                        detail: "\(old.swiftType) is now named \(new.messageType); consumers "
                            + "of \(old.messageType) no longer receive it",
                        breaksBackward: true, breaksForward: true))
                continue
            }
            changes.append(
                SchemaChange(
                    kind: .messageTypeRemoved, messageType: old.messageType,
                    version: old.schemaVersion, path: "$",
                    detail: "no registered type declares it (was \(old.swiftType)); delete "
                        + "its snapshot file once the contract is retired",
                    breaksBackward: true, breaksForward: true))
        }

        for new in current where !renamedTargets.contains(new.label) {
            let known = committed.contains {
                $0.messageType == new.messageType && $0.schemaVersion == new.schemaVersion
            }
            if !known {
                changes.append(
                    SchemaChange(
                        kind: .messageTypeAdded, messageType: new.messageType,
                        version: new.schemaVersion, path: "$",
                        detail: "not in the snapshot yet (\(new.swiftType)); run "
                            + "`sightline schema snapshot`",
                        breaksBackward: false, breaksForward: false))
            }
        }
        return changes.sorted {
            ($0.messageType, $0.version, $0.path, $0.kind.rawValue)
                < ($1.messageType, $1.version, $1.path, $1.kind.rawValue)
        }
    }

    /// The changes that break compatibility in `mode`.
    public static func breakingChanges(
        committed: [MessageSchema], current: [MessageSchema], mode: CompatibilityMode
    ) -> [SchemaChange] {
        changes(committed: committed, current: current).filter { $0.isBreaking(in: mode) }
    }

    // MARK: Comparing one schema

    private struct Context {
        var messageType: String
        var version: Int
        var oldIsStrict: Bool
        var newIsStrict: Bool

        func change(
            _ kind: SchemaChange.Kind, _ path: String, _ detail: String, backward: Bool,
            forward: Bool
        ) -> SchemaChange {
            SchemaChange(
                kind: kind, messageType: messageType, version: version, path: path,
                detail: detail, breaksBackward: backward, breaksForward: forward)
        }
    }

    private static func compare(_ old: MessageSchema, _ new: MessageSchema) -> [SchemaChange] {
        let context = Context(
            messageType: old.messageType, version: old.schemaVersion,
            oldIsStrict: old.rejectsUnknownFields, newIsStrict: new.rejectsUnknownFields)
        var changes: [SchemaChange] = []
        if old.channel != new.channel {
            changes.append(
                context.change(
                    .channelChanged, "$", "channel \(old.channel) became \(new.channel)",
                    backward: true, forward: true))
        }
        return changes + compare(old.payload, new.payload, at: "$", context)
    }

    private static func compare(
        _ old: SchemaType, _ new: SchemaType, at path: String, _ context: Context
    ) -> [SchemaChange] {
        if old == new { return [] }

        switch (old, new) {
        case (.object(let oldFields), .object(let newFields)):
            return compareFields(oldFields, newFields, at: path, context)
        case (.array(let oldElement), .array(let newElement)):
            return compare(oldElement, newElement, at: path + "[]", context)
        case (.map(let oldValue), .map(let newValue)):
            return compare(oldValue, newValue, at: path + "{}", context)
        case (.optional(let oldWrapped), .optional(let newWrapped)):
            return compare(oldWrapped, newWrapped, at: path, context)
        case (.optional(let oldWrapped), _):
            return [
                context.change(
                    .nullabilityChanged, path, "may no longer be null", backward: true,
                    forward: false)
            ] + compare(oldWrapped, new, at: path, context)
        case (_, .optional(let newWrapped)):
            return [
                context.change(
                    .nullabilityChanged, path, "may now be null", backward: false, forward: true)
            ] + compare(old, newWrapped, at: path, context)
        case (.enumeration(let oldRaw, let oldCases), .enumeration(let newRaw, let newCases))
        where oldRaw == newRaw:
            return compareCases(oldCases, newCases, at: path, context)
        case (.enumeration(let oldRaw, let oldCases), _) where oldRaw == new:
            return compareCases(oldCases, nil, at: path, context)
        case (_, .enumeration(let newRaw, let newCases)) where old == newRaw:
            return compareCases(nil, newCases, at: path, context)
        case (.integer, .number):
            return [
                context.change(
                    .typeChanged, path, "integer widened to number", backward: false,
                    forward: true)
            ]
        case (.number, .integer):
            return [
                context.change(
                    .typeChanged, path, "number narrowed to integer", backward: true,
                    forward: false)
            ]
        default:
            return [
                context.change(
                    .typeChanged, path, "type \(old.summary) became \(new.summary)",
                    backward: true, forward: true)
            ]
        }
    }

    private static func compareFields(
        _ oldFields: [SchemaField], _ newFields: [SchemaField], at path: String,
        _ context: Context
    ) -> [SchemaChange] {
        let oldByName = Dictionary(uniqueKeysWithValues: oldFields.map { ($0.name, $0) })
        let newByName = Dictionary(uniqueKeysWithValues: newFields.map { ($0.name, $0) })
        var changes: [SchemaChange] = []

        for name in Set(oldByName.keys).union(newByName.keys).sorted() {
            let fieldPath = path + "." + name
            switch (oldByName[name], newByName[name]) {
            case (let old?, nil):
                let requirement = old.isRequired ? "required" : "optional"
                changes.append(
                    context.change(
                        .fieldRemoved, fieldPath,
                        "\(requirement) field \(old.type.summary) removed",
                        backward: context.newIsStrict, forward: old.isRequired))
            case (nil, let new?):
                let requirement = new.isRequired ? "required" : "optional"
                changes.append(
                    context.change(
                        .fieldAdded, fieldPath, "new \(requirement) field \(new.type.summary)",
                        backward: new.isRequired, forward: context.oldIsStrict))
            case (let old?, let new?):
                if old.isRequired && !new.isRequired {
                    changes.append(
                        context.change(
                            .fieldBecameOptional, fieldPath, "required field became optional",
                            backward: false, forward: true))
                } else if !old.isRequired && new.isRequired {
                    changes.append(
                        context.change(
                            .fieldBecameRequired, fieldPath, "optional field became required",
                            backward: true, forward: false))
                }
                changes += compare(old.type, new.type, at: fieldPath, context)
            case (nil, nil):
                break
            }
        }
        return changes
    }

    private static func compareCases(
        _ oldCases: [JSONValue]?, _ newCases: [JSONValue]?, at path: String, _ context: Context
    ) -> [SchemaChange] {
        var changes: [SchemaChange] = []
        if let oldCases {
            let removed = oldCases.filter { !(newCases?.contains($0) ?? true) }
            if !removed.isEmpty {
                changes.append(
                    context.change(
                        .enumCasesRemoved, path, "cases \(render(removed)) removed",
                        backward: true, forward: false))
            }
        }
        if let newCases {
            let added = newCases.filter { !(oldCases?.contains($0) ?? true) }
            if !added.isEmpty || oldCases == nil {
                changes.append(
                    context.change(
                        .enumCasesAdded, path,
                        oldCases == nil
                            ? "values restricted to \(render(newCases))"
                            : "cases \(render(added)) added",
                        backward: oldCases == nil, forward: oldCases != nil))
            }
        } else if oldCases != nil {
            changes.append(
                context.change(
                    .enumCasesAdded, path, "values no longer restricted to a set of cases",
                    backward: false, forward: true))
        }
        return changes
    }

    private static func render(_ cases: [JSONValue]) -> String {
        cases.map { value in
            switch value {
            case .string(let text): "'\(text)'"
            case .integer(let number): String(number)
            default: "\(value)"
            }
        }.joined(separator: ", ")
    }
}
