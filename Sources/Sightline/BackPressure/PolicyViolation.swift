/// A policy value out of range or inconsistent with another value.
public struct PolicyViolation: Error, Hashable, Sendable, CustomStringConvertible {
    /// The dotted path of the offending field, as spelled in the policy file
    /// (`thresholds.shed_start`, `channels.orders.lag_target`).
    public var field: String
    /// What is wrong, in words an operator can act on.
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}
