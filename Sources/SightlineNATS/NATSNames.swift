/// How channels, groups and partitions become NATS subjects, stream and consumer names.
///
/// Subjects keep the channel's dots, so that other clients can publish to
/// `sightline.<channel>.<partition>` directly. Stream and consumer names may hold no dots,
/// so every character outside `A-Z a-z 0-9 _ -` is written `~` plus two hex digits.
public enum NATSNames {
    /// The stream of a channel: `SIGHTLINE_` and the escaped channel.
    public static func stream(channel: String) -> String {
        "SIGHTLINE_" + escaped(channel)
    }

    /// The subject a partition of a channel is published on.
    public static func subject(channel: String, partition: Int) -> String {
        "sightline.\(channel).\(partition)"
    }

    /// Every partition subject of a channel.
    public static func subjects(channel: String) -> String {
        "sightline.\(channel).*"
    }

    /// The durable consumer of one partition of a subscriber group.
    public static func consumer(group: String, partition: Int) -> String {
        escaped(group) + "_p\(partition)"
    }

    /// Checks that a channel forms valid subject tokens.
    static func validate(channel: String) throws {
        let tokens = channel.split(separator: ".", omittingEmptySubsequences: false)
        let valid =
            !channel.isEmpty
            && tokens.allSatisfy { token in
                !token.isEmpty
                    && token.unicodeScalars.allSatisfy { scalar in
                        scalar.value > 0x20 && scalar.value < 0x7F && scalar != "*"
                            && scalar != ">"
                    }
            }
        guard valid else {
            throw NATSError(
                .invalidConfiguration,
                "channel '\(channel)' is not usable in a NATS subject: tokens must be non-empty "
                    + "printable ASCII without spaces, '*' or '>'")
        }
    }

    /// `value` with every character outside `A-Z a-z 0-9 _ -` written as `~XX`.
    public static func escaped(_ value: String) -> String {
        var result = ""
        for byte in value.utf8 {
            let isPlain =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x2D
            if isPlain {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "~" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return result
    }

    /// The partition of a key: FNV-1a (64 bit) of its UTF-8 bytes, modulo `partitions`.
    ///
    /// Stable across processes, languages and releases, so that every producer puts a key
    /// on the same subject.
    public static func partition(of key: String, partitions: Int) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(max(1, partitions)))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
