/// The W3C `tracestate` header: an ordered list of vendor `key=value` members.
///
/// Parsing follows W3C Trace Context (Level 1 and 2), section 3.3, and is lenient in the
/// way the specification allows: instead of discarding the whole header, each invalid
/// member is dropped and the valid ones are kept.
/// - Several header values are joined with commas first (HTTP header folding).
/// - Empty members and optional whitespace (spaces and tabs) around members are skipped.
/// - Keys: a simple key (`lcalpha` then up to 255 of `lcalpha`, digit, `_ - * /`) or a
///   multi-tenant key `tenant@system` (tenant: `lcalpha` or digit then up to 240 of those
///   characters; system: `lcalpha` then up to 13).
/// - Values: 1 to 256 characters in 0x20...0x7E except `,` and `=`, the last not a space.
/// - When a key repeats, the first member wins.
/// - At most 32 members are kept: the first 32 valid ones.
///
/// The `baggage` header is not interpreted by Sightline at all: it travels as an opaque
/// string next to `traceparent` and `tracestate`, so there is no type for it.
public struct TraceState: Hashable, Sendable {
    /// One `key=value` member of the list.
    public struct Member: Hashable, Sendable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The header name, lowercase as it is written on the wire.
    public static let headerName = "tracestate"

    /// The most members a list may hold (§3.3.1.1).
    public static let maximumMemberCount = 32

    /// The members, leftmost (most recently updated) first.
    public private(set) var members: [Member]

    /// An empty list.
    public init() {
        members = []
    }

    public var isEmpty: Bool { members.isEmpty }

    /// The value stored under `key`, if any.
    public func value(forKey key: String) -> String? {
        members.first { $0.key == key }?.value
    }

    /// The members joined as the header value (`k1=v1,k2=v2`); empty when there are none.
    public var headerValue: String {
        members.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    // Not yet: the 512-character propagation guidance (§3.3.1.5) is not applied; only the
    // 32-member cap bounds the header's size.

    /// Parses every received `tracestate` header value (in order) into one list.
    ///
    /// Never fails: invalid members are dropped, so the result may be empty.
    public static func parse(headers: [String]) -> TraceState {
        var state = TraceState()
        var seenKeys = Set<String>()
        for header in headers {
            // Split and trim on bytes: every character the grammar allows is ASCII, and
            // byte-wise splitting cannot merge a comma into a neighbouring grapheme.
            let rawMembers = header.utf8.split(
                separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
            for rawMember in rawMembers {
                guard state.members.count < maximumMemberCount else { return state }

                let member = trimmingOptionalWhitespace(rawMember)
                if member.isEmpty { continue }

                guard let equals = member.firstIndex(of: UInt8(ascii: "=")) else { continue }
                let key = String(Substring(member[..<equals]))
                let value = String(Substring(member[member.index(after: equals)...]))
                guard isValidKey(key), isValidValue(value), !seenKeys.contains(key) else {
                    continue
                }

                seenKeys.insert(key)
                state.members.append(Member(key: key, value: value))
            }
        }
        return state
    }

    /// Parses a single header value; the same as `parse(headers: [value])`.
    public static func parse(_ value: String) -> TraceState {
        parse(headers: [value])
    }

    /// A copy with `key` set to `value` and moved to the front (§3.5: an updated member
    /// becomes the leftmost). When the list is then longer than 32, the rightmost member is
    /// dropped. An invalid key or value leaves the list unchanged.
    public func setting(key: String, value: String) -> TraceState {
        guard Self.isValidKey(key), Self.isValidValue(value) else { return self }

        var copy = self
        copy.members.removeAll { $0.key == key }
        copy.members.insert(Member(key: key, value: value), at: 0)
        if copy.members.count > Self.maximumMemberCount {
            copy.members.removeLast(copy.members.count - Self.maximumMemberCount)
        }
        return copy
    }

    /// A copy without the member for `key`.
    public func removing(key: String) -> TraceState {
        var copy = self
        copy.members.removeAll { $0.key == key }
        return copy
    }

    // MARK: - Grammar (§3.3.1)

    private static func trimmingOptionalWhitespace(
        _ text: Substring.UTF8View
    ) -> Substring.UTF8View {
        let isOWS: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard let first = text.firstIndex(where: { !isOWS($0) }),
            let last = text.lastIndex(where: { !isOWS($0) })
        else { return text[text.endIndex...] }
        return text[first...last]
    }

    private static func isLowercaseAlpha(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// `lcalpha / DIGIT / "_" / "-" / "*" / "/"`, the characters after a key's first.
    private static func isKeyCharacter(_ byte: UInt8) -> Bool {
        isLowercaseAlpha(byte) || isDigit(byte) || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "*") || byte == UInt8(ascii: "/")
    }

    static func isValidKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard let at = bytes.firstIndex(of: UInt8(ascii: "@")) else {
            // simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
            guard (1...256).contains(bytes.count), isLowercaseAlpha(bytes[0]) else {
                return false
            }
            return bytes.dropFirst().allSatisfy(isKeyCharacter)
        }

        // multi-tenant-key = tenant-id "@" system-id
        let tenant = bytes[..<at]
        let system = bytes[(at + 1)...]
        guard (1...241).contains(tenant.count), (1...14).contains(system.count) else {
            return false
        }
        let tenantFirst = tenant[tenant.startIndex]
        guard isLowercaseAlpha(tenantFirst) || isDigit(tenantFirst),
            tenant.dropFirst().allSatisfy(isKeyCharacter),
            isLowercaseAlpha(system[system.startIndex]),
            system.dropFirst().allSatisfy(isKeyCharacter)
        else { return false }
        return true
    }

    static func isValidValue(_ value: String) -> Bool {
        // value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
        // nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
        let bytes = value.utf8
        guard (1...256).contains(bytes.count), bytes.last != UInt8(ascii: " ") else {
            return false
        }
        return bytes.allSatisfy { byte in
            byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: ",")
                && byte != UInt8(ascii: "=")
        }
    }
}
