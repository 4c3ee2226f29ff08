/// How important a message is when the bus must choose what to admit.
///
/// The back-pressure controller never sheds `critical` messages (only the hard memory limit
/// refuses them) and sheds lower priorities first.
public enum Priority: String, CaseIterable, Comparable, Hashable, Sendable, Codable {
    case critical
    case high
    case normal
    case low

    /// Smaller is more important.
    public var rank: Int {
        switch self {
        case .critical: 0
        case .high: 1
        case .normal: 2
        case .low: 3
        }
    }

    public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rank < rhs.rank }
}
