extension Duration {
    /// The duration as a policy file spells it: `250ms`, `1.5s`, `750us`.
    public var policyText: String {
        let nanos = nanoseconds
        if nanos != 0 && nanos % 1_000_000_000 == 0 { return "\(nanos / 1_000_000_000)s" }
        if nanos != 0 && nanos % 1_000_000 == 0 {
            if nanos >= 1_000_000_000 { return "\(Self.trimmed(seconds))s" }
            return "\(nanos / 1_000_000)ms"
        }
        if nanos != 0 && nanos % 1_000 == 0 && nanos < 1_000_000 { return "\(nanos / 1_000)us" }
        if nanos == 0 { return "0s" }
        return "\(Self.trimmed(seconds))s"
    }

    private static func trimmed(_ value: Double) -> String {
        var text = String(value)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}
