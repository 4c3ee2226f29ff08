import Sightline

/// Parses the scalar forms a policy file uses: durations, byte sizes, numbers, booleans.
enum PolicyValueParsing {
    private static let durationUnits: [(suffix: String, nanos: Double)] = [
        ("ms", 1e6), ("us", 1e3), ("ns", 1), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
    ]

    private static let sizeUnits: [(suffix: String, bytes: Double)] = [
        ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824),
        ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1),
    ]

    /// `250ms`, `1.5s`, `2m`, `750us`; a bare number is refused, since its unit is unclear.
    static func duration(_ text: String) -> Duration? {
        for (suffix, nanos) in durationUnits where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count)), number.isFinite,
                number >= 0, number * nanos <= 1e18
            else { return nil }
            return .nanoseconds(Int64((number * nanos).rounded()))
        }
        return nil
    }

    /// `64MiB`, `500KB`, `1048576` (bytes).
    static func size(_ text: String) -> Int? {
        if let bytes = Int(text) { return bytes }
        for (suffix, bytes) in sizeUnits where text.hasSuffix(suffix) {
            guard let number = Double(text.dropLast(suffix.count).trimmingSpaces()),
                number.isFinite, number >= 0, number * bytes <= 9e18
            else { return nil }
            return Int((number * bytes).rounded())
        }
        return nil
    }

    static func number(_ text: String) -> Double? {
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    static func integer(_ text: String) -> Int? { Int(text) }

    /// Only `true` and `false`: YAML 1.1's yes/no/on/off are refused as ambiguous.
    static func boolean(_ text: String) -> Bool? {
        switch text {
        case "true": true
        case "false": false
        default: nil
        }
    }

    static func priority(_ text: String) -> Priority? { Priority(rawValue: text) }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
