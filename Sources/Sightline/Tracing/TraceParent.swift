/// The W3C `traceparent` header: version, trace id, parent (span) id and trace flags.
///
/// Parsing follows W3C Trace Context (Level 1 and 2), section 3.2:
/// - every field is lowercase hex; uppercase hex, other characters, a wrong length or a
///   wrong separator make the header invalid;
/// - version `ff` is invalid; version `00` must be exactly 55 characters;
/// - a higher version (`01` to `fe`) is read by its first four fields when the header is
///   exactly 55 characters or continues with `-` after them (the rest is ignored);
/// - an all-zero trace id or parent id is invalid.
///
/// ``headerValue`` always writes version `00`, whatever version was received (§3.2.4: a
/// participant writes the version it supports). Every flag bit is kept as received.
public struct TraceParent: Hashable, Sendable {
    /// The header name, lowercase as it is written on the wire.
    public static let headerName = "traceparent"

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

    /// The header that carries `context` to another process (version 00).
    public init(_ context: SpanContext) {
        self.init(traceID: context.traceID, parentID: context.spanID, flags: context.flags)
    }

    /// The header value, always written as version `00`:
    /// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
    public var headerValue: String {
        "00-\(traceID.hex)-\(parentID.hex)-\(HexEncoding.hex(byte: flags.rawValue))"
    }

    /// The remote span context this header describes, to be used as a parent.
    ///
    /// - Parameter traceState: the already parsed `tracestate` received with this header.
    public func makeSpanContext(traceState: TraceState = TraceState()) -> SpanContext {
        SpanContext(
            traceID: traceID, spanID: parentID, flags: flags, traceState: traceState.headerValue,
            isRemote: true)
    }

    /// Parses one `traceparent` header value; returns nil when it is invalid (see the type's
    /// documentation for the exact rules). Surrounding whitespace is not trimmed.
    public static func parse(_ value: String) -> TraceParent? {
        let bytes = Array(value.utf8)

        // 2 (version) + 1 + 32 (trace id) + 1 + 16 (parent id) + 1 + 2 (flags) = 55.
        guard bytes.count >= 55, let version = HexEncoding.parse(bytes[0..<2]) else {
            return nil
        }

        // §3.2.2.1: version ff is forbidden; version 00 has exactly four fields.
        if version == 0xFF { return nil }
        if version == 0, bytes.count != 55 { return nil }
        if bytes.count > 55, bytes[55] != UInt8(ascii: "-") { return nil }

        let dash = UInt8(ascii: "-")
        guard bytes[2] == dash, bytes[35] == dash, bytes[52] == dash,
            let traceHigh = HexEncoding.parse(bytes[3..<19]),
            let traceLow = HexEncoding.parse(bytes[19..<35]),
            let parent = HexEncoding.parse(bytes[36..<52]),
            let flags = HexEncoding.parse(bytes[53..<55])
        else { return nil }

        let traceID = TraceID(high: traceHigh, low: traceLow)
        let parentID = SpanID(parent)
        guard traceID.isValid, parentID.isValid else { return nil }

        return TraceParent(
            version: UInt8(version), traceID: traceID, parentID: parentID,
            flags: TraceFlags(rawValue: UInt8(flags)))
    }
}
