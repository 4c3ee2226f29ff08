import Foundation

/// One message in transit: its identity, routing, causality, trace context and payload.
///
/// An envelope is a value; the bus makes a copy per subscriber group and per delivery
/// attempt. It encodes to bytes (``encoded(limits:)``) and to a flat header map plus payload
/// (``headerFields()``), the two forms transports carry.
public struct Envelope: Hashable, Sendable {
    /// Unique and time-ordered; kept across retries and redrives.
    public var id: MessageID
    /// The message type's stable name (``Message/messageType``).
    public var messageType: String
    /// The schema version the payload was written with.
    public var schemaVersion: Int
    /// Where the message is published; subscriber groups consume channels.
    public var channel: String
    /// Messages with the same key are handled in order within a subscriber group.
    public var partitionKey: String?
    public var priority: Priority
    public var createdAt: Date
    /// After this time the message is no longer worth delivering (nil: never expires).
    public var expiresAt: Date?
    /// Shared by every message of one conversation (the first message's id by default).
    public var correlationID: String
    /// The id of the message being handled when this one was created.
    public var causationID: String?
    /// Where a reply goes, for requests.
    public var replyTo: String?
    /// Free-form headers. Names that Sightline reserves (``EnvelopeHeaderName``) are refused.
    public var headers: [String: String]
    /// The W3C `traceparent` value as received; an invalid one is ignored by the tracer.
    public var traceParent: String?
    /// The W3C `tracestate` value.
    public var traceState: String?
    /// The span context `traceParent` was written from in this process, if any.
    var writtenTraceContext = WrittenTraceContext()
    /// The W3C `baggage` value, passed through unchanged.
    public var baggage: String?
    public var links: [SpanLink]
    /// 1 for the first delivery, counting up with each retry.
    public var attempt: Int
    public var contentType: String
    /// The payload's bytes. A message published in this process and still held as a value
    /// (see ``EnvelopeBody``) is encoded on each read; one that cannot be encoded reads as
    /// empty.
    public var payload: Data {
        get { (try? body.encoded()) ?? Data() }
        set { body = EnvelopeBody(bytes: newValue) }
    }
    /// The payload as bytes or as the published value.
    var body: EnvelopeBody

    public init(
        id: MessageID = MessageID.make(), messageType: String, schemaVersion: Int = 1,
        channel: String, partitionKey: String? = nil, priority: Priority = .normal,
        createdAt: Date = Date(), expiresAt: Date? = nil, correlationID: String? = nil,
        causationID: String? = nil, replyTo: String? = nil, headers: [String: String] = [:],
        traceParent: String? = nil, traceState: String? = nil, baggage: String? = nil,
        links: [SpanLink] = [], attempt: Int = 1, contentType: String = "application/json",
        payload: Data
    ) {
        self.id = id
        self.messageType = messageType
        self.schemaVersion = schemaVersion
        self.channel = channel
        self.partitionKey = partitionKey
        self.priority = priority
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.correlationID = correlationID ?? id.description
        self.causationID = causationID
        self.replyTo = replyTo
        self.headers = headers
        self.traceParent = traceParent
        self.traceState = traceState
        self.baggage = baggage
        self.links = links
        self.attempt = attempt
        self.contentType = contentType
        self.body = EnvelopeBody(bytes: payload)
    }

    /// The size a queue accounts for this envelope: payload plus metadata, approximately.
    public var approximateSize: Int {
        var size = body.approximateSize + messageType.utf8.count + channel.utf8.count + 96
        for (name, value) in headers { size += name.utf8.count + value.utf8.count }
        size += links.count * 64
        return size
    }
}

/// The span context an envelope's `traceparent` was written from, kept beside the header so
/// that a consumer in the same process need not parse it back: formatting and parsing the
/// header were a twentieth of the cost of a traced in-process delivery in profiles.
///
/// It is not part of the envelope's value: any two compare equal. A consumer uses it only
/// while `traceParent` is still the header it was written as.
struct WrittenTraceContext: Hashable, Sendable {
    var header: String?
    var context: SpanContext?

    static func == (lhs: WrittenTraceContext, rhs: WrittenTraceContext) -> Bool { true }

    func hash(into hasher: inout Hasher) {}
}

/// Bounds every decoder applies, so that hostile input cannot exhaust memory.
public struct EnvelopeLimits: Hashable, Sendable {
    /// The largest encoded envelope accepted, in bytes.
    public var maximumBytes: Int = 8 * 1024 * 1024
    /// The most free-form headers.
    public var maximumHeaders: Int = 128
    /// The longest header name or value, in bytes.
    public var maximumHeaderValueBytes: Int = 8 * 1024
    /// The most span links.
    public var maximumLinks: Int = 128

    public init() {}

    public static let standard = EnvelopeLimits()
}
