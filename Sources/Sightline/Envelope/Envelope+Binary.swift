import Foundation

// The binary form: the marker "SLE", a format version byte, then fields, each a tag byte, a
// length as an unsigned LEB128 varint and that many bytes. Integers inside fields are
// big-endian. Unknown tags are skipped, so later versions may add optional fields.

extension Envelope {
    /// The format version this build writes.
    static let binaryFormatVersion: UInt8 = 1

    private static let marker: [UInt8] = Array("SLE".utf8)

    enum Tag: UInt8 {
        case id = 1
        case messageType = 2
        case schemaVersion = 3
        case channel = 4
        case partitionKey = 5
        case priority = 6
        case createdAt = 7
        case expiresAt = 8
        case correlationID = 9
        case causationID = 10
        case replyTo = 11
        case attempt = 12
        case contentType = 13
        case traceParent = 14
        case traceState = 15
        case baggage = 16
        case header = 20
        case link = 21
        case payload = 30

        var name: String { "\(self)" }
    }

    /// Encodes the envelope to Sightline's binary form.
    ///
    /// - Throws: ``EnvelopeError`` with code `oversized` when the result would exceed
    ///   `limits.maximumBytes`, `reservedHeader` when a free-form header uses a reserved name.
    public func encoded(limits: EnvelopeLimits = .standard) throws -> Data {
        try validateForEncoding(limits: limits)

        var writer = BinaryWriter()
        writer.bytes(Self.marker)
        writer.byte(Self.binaryFormatVersion)
        writer.field(.id, id.bytes)
        writer.field(.messageType, messageType)
        writer.field(.schemaVersion, UInt64(bitPattern: Int64(schemaVersion)))
        writer.field(.channel, channel)
        if let partitionKey { writer.field(.partitionKey, partitionKey) }
        writer.field(.priority, priority.rawValue)
        writer.field(.createdAt, UInt64(bitPattern: Self.unixNanos(createdAt)))
        if let expiresAt { writer.field(.expiresAt, UInt64(bitPattern: Self.unixNanos(expiresAt))) }
        writer.field(.correlationID, correlationID)
        if let causationID { writer.field(.causationID, causationID) }
        if let replyTo { writer.field(.replyTo, replyTo) }
        writer.field(.attempt, UInt64(attempt))
        writer.field(.contentType, contentType)
        if let traceParent { writer.field(.traceParent, traceParent) }
        if let traceState { writer.field(.traceState, traceState) }
        if let baggage { writer.field(.baggage, baggage) }
        for name in headers.keys.sorted() {
            var pair = BinaryWriter()
            pair.lengthPrefixed(Array(name.utf8))
            pair.lengthPrefixed(Array(headers[name]!.utf8))
            writer.field(.header, pair.output)
        }
        for link in links {
            writer.field(.link, Self.encodeLink(link))
        }
        writer.field(.payload, [UInt8](payload))

        guard writer.output.count <= limits.maximumBytes else {
            throw EnvelopeError(
                .oversized,
                "encoded size \(writer.output.count) bytes exceeds the limit of "
                    + "\(limits.maximumBytes)")
        }
        return Data(writer.output)
    }

    /// Decodes an envelope from Sightline's binary form.
    ///
    /// Never traps on malformed input: every problem is an ``EnvelopeError`` that names the
    /// field and the byte offset.
    public init(decoding data: Data, limits: EnvelopeLimits = .standard) throws {
        guard data.count <= limits.maximumBytes else {
            throw EnvelopeError(
                .oversized,
                "\(data.count) bytes exceed the limit of \(limits.maximumBytes)")
        }
        var reader = BinaryReader(bytes: [UInt8](data))
        guard reader.remaining >= 4, Array(reader.bytes[0..<3]) == Self.marker else {
            throw EnvelopeError(.notAnEnvelope, "input does not start with the envelope marker")
        }
        reader.offset = 3
        let version = reader.bytes[3]
        reader.offset = 4
        guard version == Self.binaryFormatVersion else {
            throw EnvelopeError(
                .unsupportedVersion,
                "format version \(version); this build reads version \(Self.binaryFormatVersion)"
            )
        }

        var fields = DecodedFields()
        while reader.remaining > 0 {
            let start = reader.offset
            let tagByte = try reader.byte(field: "tag")
            let length = try reader.varint(field: "length of tag \(tagByte)")
            guard length <= UInt64(reader.remaining) else {
                throw EnvelopeError(
                    .truncated, field: Tag(rawValue: tagByte)?.name ?? "tag \(tagByte)",
                    "field at offset \(start) announces \(length) bytes but \(reader.remaining) "
                        + "remain")
            }
            let value = try reader.take(Int(length), field: "tag \(tagByte)")
            guard let tag = Tag(rawValue: tagByte) else { continue }
            try fields.accept(tag, value, offset: start, limits: limits)
        }
        self = try fields.envelope()
    }

    /// The checks every encoding of an envelope applies: free-form headers neither reserved
    /// nor empty nor oversized, and header and link counts within the limits. Adapters that
    /// write a header form of their own call it to refuse what the core would refuse.
    public func validateForEncoding(limits: EnvelopeLimits = .standard) throws {
        for (name, value) in headers {
            if EnvelopeHeaderName.isReserved(name) {
                throw EnvelopeError(
                    .reservedHeader, field: name,
                    "header name is reserved by Sightline; choose another name")
            }
            if name.isEmpty || name.utf8.count > limits.maximumHeaderValueBytes
                || value.utf8.count > limits.maximumHeaderValueBytes
            {
                throw EnvelopeError(
                    .invalidField, field: name,
                    "header name must be 1 to \(limits.maximumHeaderValueBytes) bytes and its "
                        + "value at most as long")
            }
        }
        guard headers.count <= limits.maximumHeaders else {
            throw EnvelopeError(
                .oversized, field: "headers",
                "\(headers.count) headers exceed the limit of \(limits.maximumHeaders)")
        }
        guard links.count <= limits.maximumLinks else {
            throw EnvelopeError(
                .oversized, field: "links",
                "\(links.count) links exceed the limit of \(limits.maximumLinks)")
        }
    }

    /// Nanoseconds since the Unix epoch, saturating at the ends of `Int64` (about the years
    /// 1677 and 2262), so that no date traps.
    public static func unixNanos(_ date: Date) -> Int64 {
        let nanos = (date.timeIntervalSince1970 * 1_000_000_000).rounded()
        guard nanos.isFinite else { return nanos > 0 ? Int64.max : 0 }
        // Double(Int64.max) rounds up to 2^63, which does not fit; compare with 2^63 itself.
        if nanos >= 0x1p63 { return Int64.max }
        if nanos < -0x1p63 { return Int64.min }
        return Int64(nanos)
    }

    /// The date `unixNanos(_:)` wrote.
    public static func date(unixNanos: Int64) -> Date {
        Date(timeIntervalSince1970: Double(unixNanos) / 1_000_000_000)
    }

    private static func encodeLink(_ link: SpanLink) -> [UInt8] {
        var writer = BinaryWriter()
        writer.bytes(link.traceID.bytes)
        writer.bytes(link.spanID.bytes)
        writer.byte(link.flags.rawValue)
        writer.lengthPrefixed(Array(link.traceState.utf8))
        writer.varint(UInt64(link.attributes.count))
        for key in link.attributes.keys.sorted() {
            writer.lengthPrefixed(Array(key.utf8))
            writer.lengthPrefixed(Array(link.attributes[key]!.utf8))
        }
        return writer.output
    }

    fileprivate static func decodeLink(_ bytes: ArraySlice<UInt8>, offset: Int) throws -> SpanLink {
        var reader = BinaryReader(bytes: Array(bytes))
        let field = "link at offset \(offset)"
        let trace = try reader.take(16, field: field)
        let span = try reader.take(8, field: field)
        let flags = try reader.byte(field: field)
        let traceID = TraceID(high: uint64(trace.prefix(8)), low: uint64(trace.suffix(8)))
        let spanID = SpanID(uint64(span))
        guard traceID.isValid, spanID.isValid else {
            throw EnvelopeError(.invalidField, field: "link", "\(field) has an all-zero id")
        }
        let traceState = try reader.string(field: field)
        let count = try reader.varint(field: field)
        guard count <= UInt64(SpanLink.maximumAttributes) else {
            throw EnvelopeError(
                .invalidField, field: "link",
                "\(field) has \(count) attributes; at most \(SpanLink.maximumAttributes)")
        }
        var attributes: [String: String] = [:]
        for _ in 0..<count {
            let key = try reader.string(field: field)
            attributes[key] = try reader.string(field: field)
        }
        return SpanLink(
            traceID: traceID, spanID: spanID, flags: TraceFlags(rawValue: flags),
            traceState: traceState, attributes: attributes)
    }

    fileprivate static func uint64<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// Collects decoded fields, checking each once, then builds the envelope.
private struct DecodedFields {
    var strings: [Envelope.Tag: String] = [:]
    var integers: [Envelope.Tag: UInt64] = [:]
    var id: MessageID?
    var headers: [String: String] = [:]
    var links: [SpanLink] = []
    var payload: Data?

    mutating func accept(
        _ tag: Envelope.Tag, _ value: ArraySlice<UInt8>, offset: Int, limits: EnvelopeLimits
    ) throws {
        switch tag {
        case .id:
            guard value.count == 16 else {
                throw EnvelopeError(
                    .invalidField, field: tag.name, "expected 16 bytes, found \(value.count)")
            }
            try once(id == nil, tag)
            id = MessageID(
                high: Envelope.uint64(value.prefix(8)), low: Envelope.uint64(value.suffix(8)))
        case .schemaVersion, .createdAt, .expiresAt, .attempt:
            guard value.count == 8 else {
                throw EnvelopeError(
                    .invalidField, field: tag.name,
                    "expected an 8-byte integer, found \(value.count) bytes")
            }
            try once(integers[tag] == nil, tag)
            integers[tag] = Envelope.uint64(value)
        case .header:
            guard headers.count < limits.maximumHeaders else {
                throw EnvelopeError(
                    .oversized, field: "headers",
                    "more than \(limits.maximumHeaders) headers")
            }
            var reader = BinaryReader(bytes: Array(value))
            let name = try reader.string(field: "header at offset \(offset)")
            let headerValue = try reader.string(field: "header \(name)")
            guard !EnvelopeHeaderName.isReserved(name) else {
                throw EnvelopeError(.reservedHeader, field: name, "header name is reserved")
            }
            guard headers[name] == nil else {
                throw EnvelopeError(.duplicateField, field: name, "header appears twice")
            }
            headers[name] = headerValue
        case .link:
            guard links.count < limits.maximumLinks else {
                throw EnvelopeError(
                    .oversized, field: "links", "more than \(limits.maximumLinks) links")
            }
            links.append(try Envelope.decodeLink(value, offset: offset))
        case .payload:
            try once(payload == nil, tag)
            payload = Data(value)
        default:
            guard let text = String(validating: value, as: UTF8.self) else {
                throw EnvelopeError(
                    .invalidField, field: tag.name, "not valid UTF-8 (offset \(offset))")
            }
            try once(strings[tag] == nil, tag)
            strings[tag] = text
        }
    }

    private func once(_ isFirst: Bool, _ tag: Envelope.Tag) throws {
        guard isFirst else {
            throw EnvelopeError(.duplicateField, field: tag.name, "field appears twice")
        }
    }

    func envelope() throws -> Envelope {
        guard let id else { throw missing(.id) }
        guard let messageType = strings[.messageType], !messageType.isEmpty else {
            throw missing(.messageType)
        }
        guard let channel = strings[.channel], !channel.isEmpty else { throw missing(.channel) }
        guard let priorityText = strings[.priority] else { throw missing(.priority) }
        guard let priority = Priority(rawValue: priorityText) else {
            throw EnvelopeError(
                .invalidField, field: "priority",
                "'\(priorityText)' is not one of critical, high, normal, low")
        }
        guard let version = integers[.schemaVersion] else { throw missing(.schemaVersion) }
        guard let created = integers[.createdAt] else { throw missing(.createdAt) }
        guard let attempt = integers[.attempt] else { throw missing(.attempt) }
        guard (1...UInt64(Int32.max)).contains(attempt) else {
            throw EnvelopeError(.invalidField, field: "attempt", "\(attempt) is not positive")
        }
        guard let correlationID = strings[.correlationID] else { throw missing(.correlationID) }
        guard let contentType = strings[.contentType] else { throw missing(.contentType) }
        guard let payload else { throw missing(.payload) }

        return Envelope(
            id: id, messageType: messageType,
            schemaVersion: Int(truncatingIfNeeded: Int64(bitPattern: version)),
            channel: channel, partitionKey: strings[.partitionKey], priority: priority,
            createdAt: Envelope.date(unixNanos: Int64(bitPattern: created)),
            expiresAt: integers[.expiresAt].map {
                Envelope.date(unixNanos: Int64(bitPattern: $0))
            },
            correlationID: correlationID, causationID: strings[.causationID],
            replyTo: strings[.replyTo], headers: headers, traceParent: strings[.traceParent],
            traceState: strings[.traceState], baggage: strings[.baggage], links: links,
            attempt: Int(attempt), contentType: contentType, payload: payload)
    }

    private func missing(_ tag: Envelope.Tag) -> EnvelopeError {
        EnvelopeError(.missingField, field: tag.name, "required field is absent or empty")
    }
}

/// Appends fields in the binary form.
struct BinaryWriter {
    var output: [UInt8] = []

    mutating func byte(_ value: UInt8) { output.append(value) }

    mutating func bytes(_ value: [UInt8]) { output.append(contentsOf: value) }

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            output.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        output.append(UInt8(rest))
    }

    mutating func lengthPrefixed(_ value: [UInt8]) {
        varint(UInt64(value.count))
        output.append(contentsOf: value)
    }

    mutating func field(_ tag: Envelope.Tag, _ value: [UInt8]) {
        byte(tag.rawValue)
        lengthPrefixed(value)
    }

    mutating func field(_ tag: Envelope.Tag, _ value: String) {
        field(tag, Array(value.utf8))
    }

    mutating func field(_ tag: Envelope.Tag, _ value: UInt64) {
        field(tag, HexEncoding.bytes(value))
    }
}

/// Reads the binary form with a bounds check on every step.
struct BinaryReader {
    let bytes: [UInt8]
    var offset = 0

    var remaining: Int { bytes.count - offset }

    mutating func byte(field: String) throws -> UInt8 {
        guard offset < bytes.count else { throw truncated(field) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func varint(field: String) throws -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 7) {
            let next = try byte(field: field)
            value |= UInt64(next & 0x7F) << UInt64(shift)
            if next & 0x80 == 0 { return value }
        }
        throw EnvelopeError(
            .invalidField, field: field, "varint at offset \(offset) is longer than 10 bytes")
    }

    mutating func take(_ count: Int, field: String) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else { throw truncated(field) }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func string(field: String) throws -> String {
        let length = try varint(field: field)
        guard length <= UInt64(remaining) else { throw truncated(field) }
        let slice = try take(Int(length), field: field)
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw EnvelopeError(.invalidField, field: field, "not valid UTF-8")
        }
        return text
    }

    private func truncated(_ field: String) -> EnvelopeError {
        EnvelopeError(
            .truncated, field: field, "input ends at offset \(bytes.count) inside this field")
    }
}
