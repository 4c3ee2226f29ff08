/// Content-based routing: which messages of its channel a subscriber group receives.
///
/// The bus applies the filter when it routes a publish, so a group never gets a copy of a
/// message its filter refuses (nothing is dead-lettered). Every part must match; an empty
/// filter (``all``) matches everything.
public struct SubscriptionFilter: Sendable {
    /// The message types accepted; nil accepts every type.
    public var messageTypes: Set<String>?
    /// The schema versions accepted; nil accepts every version.
    public var versions: ClosedRange<Int>?
    /// Predicates over the envelope's free-form headers; all must hold.
    public var headers: [HeaderPredicate]

    public init(
        messageTypes: Set<String>? = nil, versions: ClosedRange<Int>? = nil,
        headers: [HeaderPredicate] = []
    ) {
        self.messageTypes = messageTypes
        self.versions = versions
        self.headers = headers
    }

    /// Accepts every message.
    public static let all = SubscriptionFilter()

    /// True when the filter has no part that could refuse a message.
    var acceptsEverything: Bool {
        messageTypes == nil && versions == nil && headers.isEmpty
    }

    public func matches(_ envelope: Envelope) -> Bool {
        if let messageTypes, !messageTypes.contains(envelope.messageType) { return false }
        if let versions, !versions.contains(envelope.schemaVersion) { return false }
        return headers.allSatisfy { $0.matches(envelope.headers) }
    }
}

/// A test of one free-form header.
public struct HeaderPredicate: Sendable, CustomStringConvertible {
    /// The header's name.
    public var name: String
    /// How the predicate reads, for logs and errors: `region == "eu"`.
    public var description: String
    private let test: @Sendable (String?) -> Bool

    /// A predicate over the header's value (nil when the header is absent).
    public init(
        _ name: String, description: String, _ test: @escaping @Sendable (String?) -> Bool
    ) {
        self.name = name
        self.description = description
        self.test = test
    }

    func matches(_ headers: [String: String]) -> Bool { test(headers[name]) }

    /// The header is present with exactly `value`.
    public static func equals(_ name: String, _ value: String) -> HeaderPredicate {
        HeaderPredicate(name, description: "\(name) == \"\(value)\"") { $0 == value }
    }

    /// The header is present with one of `values`.
    public static func isOneOf(_ name: String, _ values: Set<String>) -> HeaderPredicate {
        HeaderPredicate(name, description: "\(name) in \(values.sorted())") {
            $0.map(values.contains) ?? false
        }
    }

    /// The header is present, whatever its value.
    public static func exists(_ name: String) -> HeaderPredicate {
        HeaderPredicate(name, description: "\(name) present") { $0 != nil }
    }

    /// The header is absent.
    public static func isAbsent(_ name: String) -> HeaderPredicate {
        HeaderPredicate(name, description: "\(name) absent") { $0 == nil }
    }
}
