/// Which readers a compatibility check protects.
public enum CompatibilityMode: String, CaseIterable, Hashable, Sendable {
    /// Consumers built from the current code read messages written with the committed
    /// schema (upgrade consumers first).
    case backward
    /// Consumers still on the committed schema read messages written with the current code
    /// (upgrade producers first).
    case forward
    /// Both.
    case full
}

/// One difference between a committed schema and the current type.
public struct SchemaChange: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable {
        case fieldAdded = "field_added"
        case fieldRemoved = "field_removed"
        case fieldBecameRequired = "field_became_required"
        case fieldBecameOptional = "field_became_optional"
        case typeChanged = "type_changed"
        case nullabilityChanged = "nullability_changed"
        case enumCasesAdded = "enum_cases_added"
        case enumCasesRemoved = "enum_cases_removed"
        case channelChanged = "channel_changed"
        case messageTypeRenamed = "message_type_renamed"
        case messageTypeRemoved = "message_type_removed"
        case messageTypeAdded = "message_type_added"
    }

    public var kind: Kind
    /// The committed message type's name (for an added type, the new one).
    public var messageType: String
    public var version: Int
    /// Where in the payload, such as `$.customer.address`; `$` for the whole type.
    public var path: String
    /// What changed, in words.
    public var detail: String
    /// Current consumers can no longer read messages written with the committed schema.
    public var breaksBackward: Bool
    /// Consumers on the committed schema cannot read messages the current code writes.
    public var breaksForward: Bool

    public init(
        kind: Kind, messageType: String, version: Int, path: String, detail: String,
        breaksBackward: Bool, breaksForward: Bool
    ) {
        self.kind = kind
        self.messageType = messageType
        self.version = version
        self.path = path
        self.detail = detail
        self.breaksBackward = breaksBackward
        self.breaksForward = breaksForward
    }

    public func isBreaking(in mode: CompatibilityMode) -> Bool {
        switch mode {
        case .backward: breaksBackward
        case .forward: breaksForward
        case .full: breaksBackward || breaksForward
        }
    }

    /// `demo.OrderPlaced v2 $.currency: field_added: new required field string (breaks
    /// backward)`.
    public var description: String {
        let breaks = [breaksBackward ? "backward" : nil, breaksForward ? "forward" : nil]
            .compactMap { $0 }
        let verdict = breaks.isEmpty ? "compatible" : "breaks \(breaks.joined(separator: ", "))"
        return "\(messageType) v\(version) \(path): \(kind.rawValue): \(detail) (\(verdict))"
    }
}
