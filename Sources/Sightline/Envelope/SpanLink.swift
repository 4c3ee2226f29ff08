/// A link from a message to another span context: a message aggregated from others, a
/// redriven dead letter pointing at the trace it was dead-lettered in, a saga step.
///
/// Spans made for the message carry these as OpenTelemetry span links.
public struct SpanLink: Hashable, Sendable, Codable {
    public var traceID: TraceID
    public var spanID: SpanID
    public var flags: TraceFlags
    public var traceState: String
    /// A few string attributes saying why the link exists (`sightline.link.reason`).
    public var attributes: [String: String]

    public init(
        traceID: TraceID, spanID: SpanID, flags: TraceFlags, traceState: String = "",
        attributes: [String: String] = [:]
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
        self.traceState = traceState
        self.attributes = attributes
    }

    /// The most attributes a link may carry on the wire.
    public static let maximumAttributes = 8

    private enum CodingKeys: String, CodingKey {
        case traceID = "trace_id"
        case spanID = "span_id"
        case flags
        case traceState = "trace_state"
        case attributes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let traceHex = try container.decode(String.self, forKey: .traceID)
        let spanHex = try container.decode(String.self, forKey: .spanID)
        guard let traceID = TraceID(hex: traceHex[...]), traceID.isValid else {
            throw DecodingError.dataCorruptedError(
                forKey: .traceID, in: container,
                debugDescription: "not 32 lowercase hex digits of a non-zero trace id")
        }
        guard let spanID = SpanID(hex: spanHex[...]), spanID.isValid else {
            throw DecodingError.dataCorruptedError(
                forKey: .spanID, in: container,
                debugDescription: "not 16 lowercase hex digits of a non-zero span id")
        }
        let attributes = try container.decodeIfPresent([String: String].self, forKey: .attributes)
        guard (attributes?.count ?? 0) <= Self.maximumAttributes else {
            throw DecodingError.dataCorruptedError(
                forKey: .attributes, in: container,
                debugDescription: "more than \(Self.maximumAttributes) attributes")
        }
        self.traceID = traceID
        self.spanID = spanID
        self.flags = TraceFlags(rawValue: try container.decode(UInt8.self, forKey: .flags))
        self.traceState = try container.decodeIfPresent(String.self, forKey: .traceState) ?? ""
        self.attributes = attributes ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(traceID.hex, forKey: .traceID)
        try container.encode(spanID.hex, forKey: .spanID)
        try container.encode(flags.rawValue, forKey: .flags)
        if !traceState.isEmpty { try container.encode(traceState, forKey: .traceState) }
        if !attributes.isEmpty { try container.encode(attributes, forKey: .attributes) }
    }
}
