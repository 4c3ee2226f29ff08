import Foundation

/// One message in transit: its identity, routing, causality, trace context and payload.
///
/// An envelope is a value; the bus makes a copy per subscriber group and per delivery
/// attempt. It encodes to bytes (``encoded(limits:)``) and to a flat header map plus payload
/// (``headerFields()``), the two forms transports carry.
///
/// The fields live in one copy-on-write box: an envelope is copied several times between
/// publish and handler (queue entry, delivery, message context), and with a dozen
/// reference-counted fields stored inline each copy cost a dozen retains and releases,
/// about a fifth of the in-process bus's CPU in `perf` profiles. Copying the box costs one.
public struct Envelope: Hashable, Sendable {
    /// Unique and time-ordered; kept across retries and redrives.
    public var id: MessageID {
        get { storage.fields.id }
        set {
            // A correlation id left to default follows the id it was made with.
            let old = storage.fields.id
            if storage.fields.correlationID == nil, newValue != old {
                mutableFields.correlationID = old.description
            }
            mutableFields.id = newValue
        }
    }
    /// The message type's stable name (``Message/messageType``).
    public var messageType: String {
        get { storage.fields.messageType }
        set { mutableFields.messageType = newValue }
    }
    /// The schema version the payload was written with.
    public var schemaVersion: Int {
        get { storage.fields.schemaVersion }
        set { mutableFields.schemaVersion = newValue }
    }
    /// Where the message is published; subscriber groups consume channels.
    public var channel: String {
        get { storage.fields.channel }
        set { mutableFields.channel = newValue }
    }
    /// Messages with the same key are handled in order within a subscriber group.
    public var partitionKey: String? {
        get { storage.fields.partitionKey }
        set { mutableFields.partitionKey = newValue }
    }
    public var priority: Priority {
        get { storage.fields.priority }
        set { mutableFields.priority = newValue }
    }
    public var createdAt: Date {
        get { storage.fields.createdAt }
        set { mutableFields.createdAt = newValue }
    }
    /// After this time the message is no longer worth delivering (nil: never expires).
    public var expiresAt: Date? {
        get { storage.fields.expiresAt }
        set { mutableFields.expiresAt = newValue }
    }
    /// Shared by every message of one conversation (the first message's id by default).
    ///
    /// The default is formatted from the id only when read: formatting it for every new
    /// envelope showed in profiles of the in-process bus, where nobody reads it.
    public var correlationID: String {
        get { storage.fields.correlationID ?? storage.fields.id.description }
        set { mutableFields.correlationID = newValue }
    }
    /// The id of the message being handled when this one was created.
    public var causationID: String? {
        get { storage.fields.causationID }
        set { mutableFields.causationID = newValue }
    }
    /// Where a reply goes, for requests.
    public var replyTo: String? {
        get { storage.fields.replyTo }
        set { mutableFields.replyTo = newValue }
    }
    /// Free-form headers. Names that Sightline reserves (``EnvelopeHeaderName``) are refused.
    public var headers: [String: String] {
        get { storage.fields.headers }
        set { mutableFields.headers = newValue }
    }
    /// The W3C `traceparent` value as received; an invalid one is ignored by the tracer.
    ///
    /// Written in this process from a span context, it is formatted only when read (see
    /// ``writtenTraceContext``).
    public var traceParent: String? {
        get { storage.fields.traceParent ?? storage.fields.writtenTraceContext.header }
        set {
            mutableFields.traceParent = newValue
            mutableFields.writtenTraceContext = WrittenTraceContext()
        }
    }
    /// The W3C `tracestate` value.
    public var traceState: String? {
        get { storage.fields.traceState }
        set { mutableFields.traceState = newValue }
    }
    /// The span context `traceParent` was written from in this process, if any; it stands
    /// in for the header until the header is set again.
    var writtenTraceContext: WrittenTraceContext {
        get { storage.fields.writtenTraceContext }
        set {
            mutableFields.traceParent = nil
            mutableFields.writtenTraceContext = newValue
        }
    }
    /// The W3C `baggage` value, passed through unchanged.
    public var baggage: String? {
        get { storage.fields.baggage }
        set { mutableFields.baggage = newValue }
    }
    public var links: [SpanLink] {
        get { storage.fields.links }
        set { mutableFields.links = newValue }
    }
    /// 1 for the first delivery, counting up with each retry.
    public var attempt: Int {
        get { storage.fields.attempt }
        set { mutableFields.attempt = newValue }
    }
    public var contentType: String {
        get { storage.fields.contentType }
        set { mutableFields.contentType = newValue }
    }
    /// The payload's bytes. A message published in this process and still held as a value
    /// (see ``EnvelopeBody``) is encoded on each read; one that cannot be encoded reads as
    /// empty.
    public var payload: Data {
        get { (try? body.encoded()) ?? Data() }
        set { body = EnvelopeBody(bytes: newValue) }
    }
    /// The payload as bytes or as the published value.
    var body: EnvelopeBody {
        get { storage.fields.body }
        set { mutableFields.body = newValue }
    }

    private var storage: Storage

    public init(
        id: MessageID = MessageID.make(), messageType: String, schemaVersion: Int = 1,
        channel: String, partitionKey: String? = nil, priority: Priority = .normal,
        createdAt: Date = Date(), expiresAt: Date? = nil, correlationID: String? = nil,
        causationID: String? = nil, replyTo: String? = nil, headers: [String: String] = [:],
        traceParent: String? = nil, traceState: String? = nil, baggage: String? = nil,
        links: [SpanLink] = [], attempt: Int = 1, contentType: String = "application/json",
        payload: Data
    ) {
        storage = Storage(
            Fields(
                id: id, messageType: messageType, schemaVersion: schemaVersion, channel: channel,
                partitionKey: partitionKey, priority: priority, createdAt: createdAt,
                expiresAt: expiresAt, correlationID: correlationID, causationID: causationID,
                replyTo: replyTo, headers: headers, traceParent: traceParent,
                traceState: traceState, baggage: baggage, links: links, attempt: attempt,
                contentType: contentType, body: EnvelopeBody(bytes: payload)))
    }

    /// The size a queue accounts for this envelope: payload plus metadata, approximately.
    public var approximateSize: Int {
        let fields = storage.fields
        var size =
            fields.body.approximateSize + fields.messageType.utf8.count
            + fields.channel.utf8.count + 96
        for (name, value) in fields.headers { size += name.utf8.count + value.utf8.count }
        size += fields.links.count * 64
        return size
    }

    public static func == (lhs: Envelope, rhs: Envelope) -> Bool {
        if lhs.storage === rhs.storage { return true }
        return lhs.storage.fields.resolved == rhs.storage.fields.resolved
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.fields.resolved)
    }

    /// The fields, copied out of a box shared with other envelopes before they change.
    private var mutableFields: Fields {
        get { storage.fields }
        _modify {
            if !isKnownUniquelyReferenced(&storage) {
                storage = Storage(storage.fields)
            }
            yield &storage.fields
        }
    }

    /// The envelope's fields as stored.
    private struct Fields: Hashable {
        var id: MessageID
        var messageType: String
        var schemaVersion: Int
        var channel: String
        var partitionKey: String?
        var priority: Priority
        var createdAt: Date
        var expiresAt: Date?
        /// nil: the id's text form (see ``Envelope/correlationID``).
        var correlationID: String?
        var causationID: String?
        var replyTo: String?
        var headers: [String: String]
        /// nil while `writtenTraceContext` stands in for it.
        var traceParent: String?
        var traceState: String?
        var writtenTraceContext = WrittenTraceContext()
        var baggage: String?
        var links: [SpanLink]
        var attempt: Int
        var contentType: String
        var body: EnvelopeBody

        /// The fields with the defaults that are formatted on demand written out, as
        /// envelopes compare them.
        var resolved: Fields {
            var fields = self
            fields.correlationID = correlationID ?? id.description
            fields.traceParent = traceParent ?? writtenTraceContext.header
            return fields
        }
    }

    /// The box the fields live in; changed only while one envelope holds it (see
    /// ``mutableFields``), which makes sharing it between threads safe.
    private final class Storage: @unchecked Sendable {
        var fields: Fields

        init(_ fields: Fields) {
            self.fields = fields
        }
    }
}

/// The span context an envelope's `traceparent` was written from, kept instead of the header
/// so that a consumer in the same process neither formats nor parses it: formatting and
/// parsing the header were a twentieth of the cost of a traced in-process delivery in
/// profiles. The header is formatted only when read (to encode the envelope, say).
///
/// It is not part of the envelope's value: any two compare equal (envelopes compare the
/// header it stands for).
struct WrittenTraceContext: Hashable, Sendable {
    var context: SpanContext?

    /// The `traceparent` header the context is written as.
    var header: String? { context.map { TraceParent($0).headerValue } }

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
