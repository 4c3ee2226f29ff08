/// A 16-byte W3C trace id, held as two big-endian halves.
///
/// The all-zero value is invalid per W3C Trace Context §3.2.2.3 and is never produced by
/// ``random(using:)``.
public struct TraceID: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public static let invalid = TraceID(high: 0, low: 0)

    public var isValid: Bool { high != 0 || low != 0 }

    /// The 32 lowercase hex digits used on the wire.
    public var hex: String { HexEncoding.hex(high) + HexEncoding.hex(low) }

    public var description: String { hex }

    /// The id's 16 bytes, most significant first (the OTLP `bytes trace_id` form).
    public var bytes: [UInt8] { HexEncoding.bytes(high) + HexEncoding.bytes(low) }

    /// Parses exactly 32 lowercase hex digits; returns nil for anything else.
    public init?(hex: Substring) {
        guard hex.utf8.count == 32,
            let high = HexEncoding.parse(hex.utf8.prefix(16)),
            let low = HexEncoding.parse(hex.utf8.suffix(16))
        else { return nil }
        self.init(high: high, low: low)
    }

    /// A random, valid trace id.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> TraceID {
        while true {
            let id = TraceID(high: generator.next(), low: generator.next())
            if id.isValid { return id }
        }
    }
}

/// An 8-byte W3C span id (the `parent-id` of a `traceparent`).
public struct SpanID: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) {
        self.value = value
    }

    public static let invalid = SpanID(0)

    public var isValid: Bool { value != 0 }

    public var hex: String { HexEncoding.hex(value) }

    public var description: String { hex }

    public var bytes: [UInt8] { HexEncoding.bytes(value) }

    /// Parses exactly 16 lowercase hex digits; returns nil for anything else.
    public init?(hex: Substring) {
        guard hex.utf8.count == 16, let value = HexEncoding.parse(hex.utf8[...]) else {
            return nil
        }
        self.init(value)
    }

    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> SpanID {
        while true {
            let id = SpanID(generator.next())
            if id.isValid { return id }
        }
    }
}

/// The W3C `trace-flags` byte. Only the sampled bit has a meaning today; the other bits are
/// kept as received so that they pass through (W3C Trace Context §3.2.2.5).
public struct TraceFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let sampled = TraceFlags(rawValue: 0x01)

    public var isSampled: Bool { contains(.sampled) }
}

/// Lowercase hex helpers shared by the trace identifiers and the envelope codec.
enum HexEncoding {
    private static let digits = Array("0123456789abcdef".utf8)

    static func hex(_ value: UInt64) -> String {
        var out = [UInt8](repeating: 0, count: 16)
        var rest = value
        for index in stride(from: 15, through: 0, by: -1) {
            out[index] = digits[Int(rest & 0xF)]
            rest >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex(byte: UInt8) -> String {
        String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
    }

    static func bytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }

    /// Parses lowercase hex digits only; uppercase is rejected as W3C requires.
    static func parse<S: Collection>(_ text: S) -> UInt64? where S.Element == UInt8 {
        guard !text.isEmpty, text.count <= 16 else { return nil }
        var value: UInt64 = 0
        for byte in text {
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(nibble)
        }
        return value
    }
}
