import Foundation

/// The header names of the header-map form (``Envelope/headerFields()``), in one place.
///
/// Sightline's own fields use the `sightline-` prefix; the W3C trace headers and
/// `content-type` keep their standard names so that other clients understand them.
public enum EnvelopeHeaderName {
    public static let id = "sightline-id"
    public static let messageType = "sightline-type"
    public static let schemaVersion = "sightline-schema-version"
    public static let channel = "sightline-channel"
    public static let partitionKey = "sightline-partition-key"
    public static let priority = "sightline-priority"
    public static let createdAt = "sightline-created-unix-nanos"
    public static let expiresAt = "sightline-expires-unix-nanos"
    public static let correlationID = "sightline-correlation-id"
    public static let causationID = "sightline-causation-id"
    public static let replyTo = "sightline-reply-to"
    public static let attempt = "sightline-attempt"
    public static let links = "sightline-links"
    public static let contentType = "content-type"
    public static let traceParent = "traceparent"
    public static let traceState = "tracestate"
    public static let baggage = "baggage"

    static let standardNames: Set<String> = [contentType, traceParent, traceState, baggage]

    /// True for names a free-form header may not use (compared case-insensitively).
    public static func isReserved(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return lowered.hasPrefix("sightline-") || standardNames.contains(lowered)
    }
}

extension Envelope {
    /// The envelope's metadata as a flat header map; the payload travels beside it.
    ///
    /// Free-form headers appear under their own names. Span links are a JSON array in
    /// `sightline-links`.
    public func headerFields() throws -> [String: String] {
        try validateForEncoding(limits: .standard)

        var fields = headers
        fields[EnvelopeHeaderName.id] = id.description
        fields[EnvelopeHeaderName.messageType] = messageType
        fields[EnvelopeHeaderName.schemaVersion] = String(schemaVersion)
        fields[EnvelopeHeaderName.channel] = channel
        fields[EnvelopeHeaderName.partitionKey] = partitionKey
        fields[EnvelopeHeaderName.priority] = priority.rawValue
        fields[EnvelopeHeaderName.createdAt] = String(Self.unixNanos(createdAt))
        fields[EnvelopeHeaderName.expiresAt] = expiresAt.map { String(Self.unixNanos($0)) }
        fields[EnvelopeHeaderName.correlationID] = correlationID
        fields[EnvelopeHeaderName.causationID] = causationID
        fields[EnvelopeHeaderName.replyTo] = replyTo
        fields[EnvelopeHeaderName.attempt] = String(attempt)
        fields[EnvelopeHeaderName.contentType] = contentType
        fields[EnvelopeHeaderName.traceParent] = traceParent
        fields[EnvelopeHeaderName.traceState] = traceState
        fields[EnvelopeHeaderName.baggage] = baggage
        if !links.isEmpty {
            let json = try JSONEncoder().encode(links)
            fields[EnvelopeHeaderName.links] = String(decoding: json, as: UTF8.self)
        }
        return fields
    }

    /// Rebuilds an envelope from a header map and its payload.
    ///
    /// Header names are matched case-insensitively. Headers Sightline does not reserve become
    /// free-form headers. Every problem is an ``EnvelopeError`` naming the header.
    public init(
        headerFields: [String: String], payload: Data, limits: EnvelopeLimits = .standard
    ) throws {
        var reader = HeaderReader(limits: limits)
        for (name, value) in headerFields {
            try reader.accept(name: name, value: value)
        }
        guard payload.count <= limits.maximumBytes else {
            throw EnvelopeError(
                .oversized, field: "payload",
                "\(payload.count) bytes exceed the limit of \(limits.maximumBytes)")
        }

        let idText = try reader.required(EnvelopeHeaderName.id)
        guard let id = MessageID(idText) else {
            throw EnvelopeError(
                .invalidField, field: EnvelopeHeaderName.id, "'\(idText)' is not a UUID")
        }
        let priorityText = reader.reserved[EnvelopeHeaderName.priority] ?? "normal"
        guard let priority = Priority(rawValue: priorityText) else {
            throw EnvelopeError(
                .invalidField, field: EnvelopeHeaderName.priority,
                "'\(priorityText)' is not one of critical, high, normal, low")
        }

        self.init(
            id: id,
            messageType: try reader.required(EnvelopeHeaderName.messageType),
            schemaVersion: try reader.integer(EnvelopeHeaderName.schemaVersion, default: 1),
            channel: try reader.required(EnvelopeHeaderName.channel),
            partitionKey: reader.reserved[EnvelopeHeaderName.partitionKey],
            priority: priority,
            createdAt: Self.date(
                unixNanos: Int64(try reader.integer(EnvelopeHeaderName.createdAt, default: 0))),
            expiresAt: try reader.optionalInteger(EnvelopeHeaderName.expiresAt).map {
                Self.date(unixNanos: Int64($0))
            },
            correlationID: reader.reserved[EnvelopeHeaderName.correlationID],
            causationID: reader.reserved[EnvelopeHeaderName.causationID],
            replyTo: reader.reserved[EnvelopeHeaderName.replyTo],
            headers: reader.free,
            traceParent: reader.reserved[EnvelopeHeaderName.traceParent],
            traceState: reader.reserved[EnvelopeHeaderName.traceState],
            baggage: reader.reserved[EnvelopeHeaderName.baggage],
            links: try reader.links(),
            attempt: try reader.integer(EnvelopeHeaderName.attempt, default: 1, minimum: 1),
            contentType: reader.reserved[EnvelopeHeaderName.contentType]
                ?? "application/octet-stream",
            payload: payload)
    }
}

/// Sorts incoming headers into Sightline's fields and free-form ones, checking limits.
private struct HeaderReader {
    let limits: EnvelopeLimits
    var reserved: [String: String] = [:]
    var free: [String: String] = [:]

    init(limits: EnvelopeLimits) {
        self.limits = limits
    }

    mutating func accept(name: String, value: String) throws {
        guard !name.isEmpty, name.utf8.count <= limits.maximumHeaderValueBytes else {
            throw EnvelopeError(
                .invalidField, field: String(name.prefix(64)),
                "header name must be 1 to \(limits.maximumHeaderValueBytes) bytes")
        }
        let maximum =
            name.lowercased() == EnvelopeHeaderName.links
            ? limits.maximumHeaderValueBytes * 8 : limits.maximumHeaderValueBytes
        guard value.utf8.count <= maximum else {
            throw EnvelopeError(
                .oversized, field: name,
                "value of \(value.utf8.count) bytes exceeds the limit of \(maximum)")
        }
        if EnvelopeHeaderName.isReserved(name) {
            let key = name.lowercased()
            guard reserved[key] == nil else {
                throw EnvelopeError(.duplicateField, field: key, "header appears twice")
            }
            reserved[key] = value
        } else {
            guard free.count < limits.maximumHeaders else {
                throw EnvelopeError(
                    .oversized, field: "headers", "more than \(limits.maximumHeaders) headers")
            }
            free[name] = value
        }
    }

    func required(_ name: String) throws -> String {
        guard let value = reserved[name], !value.isEmpty else {
            throw EnvelopeError(.missingField, field: name, "required header is absent or empty")
        }
        return value
    }

    func optionalInteger(_ name: String) throws -> Int? {
        guard let text = reserved[name] else { return nil }
        guard let value = Int(text) else {
            throw EnvelopeError(.invalidField, field: name, "'\(text)' is not an integer")
        }
        return value
    }

    func integer(_ name: String, default fallback: Int, minimum: Int = Int.min) throws -> Int {
        let value = try optionalInteger(name) ?? fallback
        guard value >= minimum else {
            throw EnvelopeError(.invalidField, field: name, "\(value) is below \(minimum)")
        }
        return value
    }

    func links() throws -> [SpanLink] {
        guard let text = reserved[EnvelopeHeaderName.links] else { return [] }
        return try Envelope.links(headerValue: text, limits: limits)
    }
}

extension Envelope {
    /// The span links of a `sightline-links` header value: a JSON array, at most
    /// `limits.maximumLinks` long.
    public static func links(headerValue text: String, limits: EnvelopeLimits) throws
        -> [SpanLink]
    {
        let links: [SpanLink]
        do {
            links = try JSONDecoder().decode([SpanLink].self, from: Data(text.utf8))
        } catch {
            throw EnvelopeError(
                .invalidField, field: EnvelopeHeaderName.links,
                "not a JSON array of span links: \(error)")
        }
        guard links.count <= limits.maximumLinks else {
            throw EnvelopeError(
                .oversized, field: EnvelopeHeaderName.links,
                "\(links.count) links exceed the limit of \(limits.maximumLinks)")
        }
        return links
    }
}
