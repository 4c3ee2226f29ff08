/// A parsed W3C `traceparent` header value.
public struct TraceParent: Hashable, Sendable {
    public var version: UInt8
    public var traceID: TraceID
    public var parentID: SpanID
    public var flags: TraceFlags

    public init(version: UInt8 = 0, traceID: TraceID, parentID: SpanID, flags: TraceFlags) {
        self.version = version
        self.traceID = traceID
        self.parentID = parentID
        self.flags = flags
    }

    /// The header value, always written as version 00.
    public var headerValue: String {
        "00-\(traceID.hex)-\(parentID.hex)-\(HexEncoding.hex(byte: flags.rawValue))"
    }

    /// Parses a `traceparent` value; nil when it is invalid and must be ignored.
    public static func parse(_ value: String) -> TraceParent? {
        let utf8 = Array(value.utf8)
        guard utf8.count >= 55, utf8[2] == 45, utf8[35] == 45, utf8[52] == 45,
            let version = HexEncoding.parse(utf8[0..<2]), version != 0xFF,
            let traceID = TraceID(
                hex: Substring(
                    value.utf8[
                        value.utf8.index(
                            value.utf8.startIndex, offsetBy: 3)..<value.utf8.index(
                                value.utf8.startIndex, offsetBy: 35)])),
            let parentID = SpanID(
                hex: Substring(
                    value.utf8[
                        value.utf8.index(
                            value.utf8.startIndex, offsetBy: 36)..<value.utf8.index(
                                value.utf8.startIndex, offsetBy: 52)])),
            let flags = HexEncoding.parse(utf8[53..<55]),
            traceID.isValid, parentID.isValid
        else { return nil }
        if version == 0 && utf8.count != 55 { return nil }
        if version > 0 && utf8.count > 55 && utf8[55] != 45 { return nil }
        return TraceParent(
            version: UInt8(version), traceID: traceID, parentID: parentID,
            flags: TraceFlags(rawValue: UInt8(flags)))
    }
}
