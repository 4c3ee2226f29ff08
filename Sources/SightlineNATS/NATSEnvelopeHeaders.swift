import CNATS
import Foundation
import Sightline

/// The envelope's header form (docs/wire-format.md) written straight into a cnats message
/// and read straight out of one, for the transport's publishes and deliveries.
///
/// Reading gives the same envelope as reading every header followed by
/// `Envelope(headerFields:payload:)`, and writing the same headers as
/// `Envelope.headerFields()` less those equal to their documented defaults; the tests hold
/// the two side by side. It exists because a profile of `sightline bench nats` showed the
/// intermediate maps (building them, hashing their keys, lower-casing names, a `String` per
/// name and value) costing more per message than the NATS client's own work.
enum NATSEnvelopeHeaders {
    // MARK: Writing

    /// Sets the header form of `envelope`, plus the routing header when `targetGroup` is
    /// given, on `message`.
    ///
    /// - Throws: the `EnvelopeError` the core's encoding reports for a reserved, empty or
    ///   oversized free-form header or too many headers or links; ``NATSError``
    ///   `publishFailed` for a name or value that cannot travel in a NATS header (a line
    ///   break, a NUL byte, or a colon in a name) or that the client refused.
    static func write(
        _ envelope: Envelope, targetGroup: String?, into message: OpaquePointer
    ) throws {
        try envelope.validateForEncoding()

        let writer = Writer(message: message)
        for (name, value) in envelope.headers {
            try writer.set(name, value)
        }
        // Fields equal to the header form's documented defaults (schema version 1, priority
        // normal, correlation id the id, attempt 1) are left out: every reader fills them
        // in, and each header costs the client allocations on both sides. The attempt
        // travels only for a redriven envelope; on arrival the engine's count replaces it.
        try writer.set(EnvelopeHeaderName.id, envelope.id)
        try writer.set(EnvelopeHeaderName.messageType, envelope.messageType)
        if envelope.schemaVersion != 1 {
            try writer.set(EnvelopeHeaderName.schemaVersion, Int64(envelope.schemaVersion))
        }
        try writer.set(EnvelopeHeaderName.channel, envelope.channel)
        try writer.set(EnvelopeHeaderName.partitionKey, envelope.partitionKey)
        if envelope.priority != .normal {
            try writer.set(EnvelopeHeaderName.priority, envelope.priority.rawValue)
        }
        try writer.set(EnvelopeHeaderName.createdAt, Envelope.unixNanos(envelope.createdAt))
        if let expiresAt = envelope.expiresAt {
            try writer.set(EnvelopeHeaderName.expiresAt, Envelope.unixNanos(expiresAt))
        }
        if !isDefaultCorrelation(envelope) {
            try writer.set(EnvelopeHeaderName.correlationID, envelope.correlationID)
        }
        try writer.set(EnvelopeHeaderName.causationID, envelope.causationID)
        try writer.set(EnvelopeHeaderName.replyTo, envelope.replyTo)
        if envelope.attempt != 1 {
            try writer.set(EnvelopeHeaderName.attempt, Int64(envelope.attempt))
        }
        try writer.set(EnvelopeHeaderName.contentType, envelope.contentType)
        try writer.set(EnvelopeHeaderName.traceParent, envelope.traceParent)
        try writer.set(EnvelopeHeaderName.traceState, envelope.traceState)
        try writer.set(EnvelopeHeaderName.baggage, envelope.baggage)
        if !envelope.links.isEmpty {
            let json = try JSONEncoder().encode(envelope.links)
            try writer.set(EnvelopeHeaderName.links, String(decoding: json, as: UTF8.self))
        }
        try writer.set(NATSMessage.targetGroupHeader, targetGroup)
    }

    /// True when the correlation id is exactly the text form of the envelope's id, the
    /// value a reader assumes when the header is absent. Compared byte by byte against the
    /// id's digits, without making the text.
    private static func isDefaultCorrelation(_ envelope: Envelope) -> Bool {
        let text = envelope.correlationID.utf8
        guard text.count == 36 else { return false }
        var position = 0
        var digit = 0
        for byte in text {
            if position == 8 || position == 13 || position == 18 || position == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                let word = digit < 16 ? envelope.id.high : envelope.id.low
                let value = UInt8((word >> UInt64(60 - 4 * (digit % 16))) & 0xF)
                guard byte == (value < 10 ? 48 + value : 87 + value) else { return false }
                digit += 1
            }
            position += 1
        }
        return true
    }

    /// Sets headers on one message from C strings, without intermediate `String`s for
    /// numbers and ids.
    private struct Writer {
        let message: OpaquePointer

        func set(_ name: String, _ value: String?) throws {
            guard let value else { return }
            try name.withCString { namePointer in
                try value.withCString { valuePointer in
                    try set(
                        namePointer, nameLength: name.utf8.count, valuePointer,
                        valueLength: value.utf8.count)
                }
            }
        }

        func set(_ name: String, _ value: Int64) throws {
            // 20 digits and a sign at most, and the terminating NUL.
            try withUnsafeTemporaryAllocation(of: CChar.self, capacity: 24) { buffer in
                var digits = value.magnitude
                var position = buffer.count - 1
                buffer[position] = 0
                repeat {
                    position -= 1
                    buffer[position] = CChar(UInt8(ascii: "0") + UInt8(digits % 10))
                    digits /= 10
                } while digits > 0
                if value < 0 {
                    position -= 1
                    buffer[position] = CChar(UInt8(ascii: "-"))
                }
                let text = buffer.baseAddress! + position
                try name.withCString { namePointer in
                    try set(
                        namePointer, nameLength: name.utf8.count, text,
                        valueLength: buffer.count - 1 - position)
                }
            }
        }

        func set(_ name: String, _ id: MessageID) throws {
            // The 36-character text form, written as MessageID.description writes it.
            try withUnsafeTemporaryAllocation(of: CChar.self, capacity: 37) { buffer in
                var position = 0
                for index in 0..<32 {
                    if index == 8 || index == 12 || index == 16 || index == 20 {
                        buffer[position] = CChar(UInt8(ascii: "-"))
                        position += 1
                    }
                    let word = index < 16 ? id.high : id.low
                    let value = UInt8((word >> UInt64(60 - 4 * (index % 16))) & 0xF)
                    // 0-9 then a-f, lower case.
                    buffer[position] = CChar(value < 10 ? 48 + value : 87 + value)
                    position += 1
                }
                buffer[position] = 0
                try name.withCString { namePointer in
                    try set(
                        namePointer, nameLength: name.utf8.count, buffer.baseAddress!,
                        valueLength: position)
                }
            }
        }

        private func set(
            _ name: UnsafePointer<CChar>, nameLength: Int, _ value: UnsafePointer<CChar>,
            valueLength: Int
        ) throws {
            // strlen finds a NUL inside the text (it would cut the header short); strpbrk
            // finds line breaks (they would end it) and a colon in the name.
            guard strlen(name) == nameLength, strpbrk(name, "\r\n:") == nil,
                strlen(value) == valueLength, strpbrk(value, "\r\n") == nil
            else {
                let shown = String(cString: name).prefix(64)
                throw NATSError(
                    .publishFailed, "header \(shown) holds a line break and cannot travel on NATS")
            }
            let status = natsMsgHeader_Set(message, name, value)
            guard status == NATS_OK else {
                throw NATSError.failure(
                    .publishFailed, "header \(String(cString: name).prefix(64)) refused", status)
            }
        }
    }

    // MARK: Reading

    /// What an arriving message carries.
    struct Reading {
        /// The routing header's value, when present: the message is meant for that group
        /// only.
        var targetGroup: String?
        /// The envelope, or why the headers do not form one.
        var envelope: Result<Envelope, EnvelopeError>
    }

    /// Reads an arriving message into an envelope: its header form (or, for a raw message
    /// without `sightline-…` headers, the defaults docs/wire-format.md describes) and its
    /// payload, with `attempt` as its attempt.
    ///
    /// Fails, as the core's decoding does, for a header name or value that is not valid
    /// UTF-8, a Sightline header given twice (in any letter case), a required one missing,
    /// a value that does not parse, or a name or value over the limits.
    ///
    /// - Parameters:
    ///   - channel: the channel the message was consumed from, for raw messages.
    ///   - storedAt: the stream's time stamp in Unix nanoseconds (0 when unknown), the
    ///     creation time of a raw message.
    static func read(
        _ message: OpaquePointer, channel: String, storedAt: Int64, attempt: Int
    ) -> Reading {
        var fields = Fields()
        if let problem = fields.collect(from: message) {
            // Headers that cannot be read are dead-lettered by whichever group meets them,
            // whatever group they name.
            return Reading(targetGroup: nil, envelope: .failure(problem))
        }
        let payload = NATSMessage.payload(of: message)
        let envelope = Result {
            try fields.envelope(
                payload: payload, channel: channel, storedAt: storedAt, attempt: attempt)
        }
        return Reading(
            targetGroup: fields.targetGroup,
            envelope: envelope.mapError { $0 as? EnvelopeError ?? Self.unexpected($0) })
    }

    private static func unexpected(_ error: any Error) -> EnvelopeError {
        EnvelopeError(.invalidField, "\(error)")
    }

    /// The envelope's header-form fields, by position in ``Fields/values``.
    private enum Field: Int, CaseIterable {
        case id, messageType, schemaVersion, channel, partitionKey, priority, createdAt
        case expiresAt, correlationID, causationID, replyTo, attempt, links, contentType
        case traceParent, traceState, baggage

        var name: String {
            switch self {
            case .id: EnvelopeHeaderName.id
            case .messageType: EnvelopeHeaderName.messageType
            case .schemaVersion: EnvelopeHeaderName.schemaVersion
            case .channel: EnvelopeHeaderName.channel
            case .partitionKey: EnvelopeHeaderName.partitionKey
            case .priority: EnvelopeHeaderName.priority
            case .createdAt: EnvelopeHeaderName.createdAt
            case .expiresAt: EnvelopeHeaderName.expiresAt
            case .correlationID: EnvelopeHeaderName.correlationID
            case .causationID: EnvelopeHeaderName.causationID
            case .replyTo: EnvelopeHeaderName.replyTo
            case .attempt: EnvelopeHeaderName.attempt
            case .links: EnvelopeHeaderName.links
            case .contentType: EnvelopeHeaderName.contentType
            case .traceParent: EnvelopeHeaderName.traceParent
            case .traceState: EnvelopeHeaderName.traceState
            case .baggage: EnvelopeHeaderName.baggage
            }
        }

        /// True for Sightline's own names (`sightline-…`), false for the standard ones.
        var isSightline: Bool {
            switch self {
            case .contentType, .traceParent, .traceState, .baggage: false
            default: true
            }
        }

        /// The lower-case names as bytes, for matching names without making strings.
        static let names: [(field: Field, bytes: [UInt8])] = allCases.map {
            ($0, Array($0.name.utf8))
        }
    }

    /// What a header name is, decided from its bytes.
    private enum Kind {
        case field(Field)
        /// `Nats-Msg-Id`.
        case natsMessageID
        /// Another `Nats-…` header: NATS's own, not part of the envelope.
        case nats
        case targetGroup
        /// A `sightline-…` name Sightline does not know: reserved, so not free-form, and
        /// ignored.
        case otherReserved
        case free
    }

    private static let natsPrefix = Array("nats-".utf8)
    private static let natsMessageID = Array("nats-msg-id".utf8)
    private static let sightlinePrefix = Array("sightline-".utf8)
    private static let targetGroup = Array(NATSMessage.targetGroupHeader.utf8)

    private static func kind(of name: UnsafeBufferPointer<UInt8>) -> Kind {
        if hasPrefix(name, natsPrefix) {
            return equals(name, natsMessageID) ? .natsMessageID : .nats
        }
        for (field, bytes) in Field.names where equals(name, bytes) {
            return .field(field)
        }
        if equals(name, targetGroup) { return .targetGroup }
        return hasPrefix(name, sightlinePrefix) ? .otherReserved : .free
    }

    /// True when `name` starts with the lower-case ASCII `prefix`, in any letter case.
    private static func hasPrefix(_ name: UnsafeBufferPointer<UInt8>, _ prefix: [UInt8]) -> Bool {
        guard name.count >= prefix.count else { return false }
        for index in prefix.indices where lowered(name[index]) != prefix[index] {
            return false
        }
        return true
    }

    /// The id in a header value: the 36-character UUID text, hex digits in either case,
    /// as `MessageID.init(_:)` reads it; nil for anything else.
    static func messageID(_ text: UnsafePointer<CChar>) -> MessageID? {
        var words: (high: UInt64, low: UInt64) = (0, 0)
        var digits = 0
        for position in 0..<36 {
            let byte = UInt8(bitPattern: text[position])
            if position == 8 || position == 13 || position == 18 || position == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let value: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = byte - UInt8(ascii: "A") + 10
            // A NUL here ends a text shorter than 36 characters.
            default: return nil
            }
            if digits < 16 {
                words.high = words.high << 4 | UInt64(value)
            } else {
                words.low = words.low << 4 | UInt64(value)
            }
            digits += 1
        }
        guard text[36] == 0 else { return nil }
        return MessageID(high: words.high, low: words.low)
    }

    private static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.allSatisfy { $0 < 0x80 } || String(validating: bytes, as: UTF8.self) != nil
    }

    private static func equals(_ name: UnsafeBufferPointer<UInt8>, _ other: [UInt8]) -> Bool {
        name.count == other.count && hasPrefix(name, other)
    }

    private static func lowered(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    /// The headers of one message, sorted into the envelope's fields as they are read.
    private struct Fields {
        /// The first value of each field, as given (validated UTF-8).
        var values = [String?](repeating: nil, count: Field.allCases.count)
        var freeForm: [String: String] = [:]
        var otherReserved: Set<String> = []
        /// The id, when `sightline-id` holds a valid one (else its text is in `values`).
        var id: MessageID?
        var targetGroup: String?
        /// The `Nats-Msg-Id`, when it is a UUID (the id of a raw message).
        var natsMessageID: MessageID?
        var hasSightlineHeader = false

        /// Reads every header of `message`; the first problem found, or nil.
        mutating func collect(from message: OpaquePointer) -> EnvelopeError? {
            let limits = EnvelopeLimits.standard
            var keys: UnsafeMutablePointer<UnsafePointer<CChar>?>?
            var count: Int32 = 0
            guard natsMsgHeader_Keys(message, &keys, &count) == NATS_OK, let keys else {
                return nil
            }
            defer { free(keys) }

            for index in 0..<Int(count) {
                guard let key = keys[index] else { continue }
                let name = UnsafeBufferPointer(
                    start: UnsafeRawPointer(key).assumingMemoryBound(to: UInt8.self),
                    count: strlen(key))
                let kind = NATSEnvelopeHeaders.kind(of: name)

                var list: UnsafeMutablePointer<UnsafePointer<CChar>?>?
                var valueCount: Int32 = 0
                guard natsMsgHeader_Values(message, key, &list, &valueCount) == NATS_OK,
                    let list, valueCount > 0
                else { continue }
                defer { free(list) }
                guard let first = list[0] else { continue }

                if let problem = accept(
                    kind, key: key, name: name, first: first, valueCount: Int(valueCount),
                    limits: limits)
                {
                    return problem
                }
            }
            return nil
        }

        /// Sorts one header (its name's kind, its first value and how many values it has)
        /// into the fields; the problem it has, or nil.
        private mutating func accept(
            _ kind: Kind, key: UnsafePointer<CChar>, name: UnsafeBufferPointer<UInt8>,
            first: UnsafePointer<CChar>, valueCount: Int, limits: EnvelopeLimits
        ) -> EnvelopeError? {
            // NATS's own headers and the routing header: only the first value counts;
            // checked for UTF-8 without making text, which is made only when needed.
            switch kind {
            case .natsMessageID, .nats, .targetGroup:
                let bytes = UnsafeBufferPointer(
                    start: UnsafeRawPointer(first).assumingMemoryBound(to: UInt8.self),
                    count: strlen(first))
                guard NATSEnvelopeHeaders.isValidUTF8(name) else {
                    return EnvelopeError(.invalidField, "a header name is not valid UTF-8")
                }
                guard NATSEnvelopeHeaders.isValidUTF8(bytes) else {
                    return EnvelopeError(
                        .invalidField, field: Self.shown(key),
                        "header value is not valid UTF-8")
                }
                if case .natsMessageID = kind {
                    natsMessageID = NATSEnvelopeHeaders.messageID(first)
                } else if case .targetGroup = kind {
                    targetGroup = String(decoding: bytes, as: UTF8.self)
                }
                return nil
            case .field, .otherReserved, .free:
                break
            }

            if case .field(.id) = kind, let parsed = NATSEnvelopeHeaders.messageID(first) {
                // The id read from its bytes: no text made only to be parsed.
                guard valueCount == 1, id == nil, values[Field.id.rawValue] == nil else {
                    return EnvelopeError(
                        .duplicateField, field: EnvelopeHeaderName.id, "header appears twice")
                }
                id = parsed
                hasSightlineHeader = true
                return nil
            }
            guard let value = String(validatingCString: first) else {
                return EnvelopeError(
                    .invalidField, field: Self.shown(key), "header value is not valid UTF-8")
            }

            guard valueCount == 1 else {
                return EnvelopeError(
                    .duplicateField, field: Self.shown(key),
                    "header appears \(valueCount) times")
            }
            if let problem = Self.checkLimits(name, value, kind: kind, limits: limits) {
                return problem
            }

            switch kind {
            case .field(let field):
                hasSightlineHeader = hasSightlineHeader || field.isSightline
                guard values[field.rawValue] == nil, field != .id || id == nil else {
                    return EnvelopeError(
                        .duplicateField, field: field.name, "header appears twice")
                }
                values[field.rawValue] = value
            case .otherReserved:
                hasSightlineHeader = true
                guard let text = String(validatingCString: key) else {
                    return EnvelopeError(.invalidField, "a header name is not valid UTF-8")
                }
                guard otherReserved.insert(text.lowercased()).inserted else {
                    return EnvelopeError(
                        .duplicateField, field: text.lowercased(), "header appears twice")
                }
            case .free:
                guard let text = String(validatingCString: key) else {
                    return EnvelopeError(.invalidField, "a header name is not valid UTF-8")
                }
                guard freeForm.count < limits.maximumHeaders else {
                    return EnvelopeError(
                        .oversized, field: "headers",
                        "more than \(limits.maximumHeaders) headers")
                }
                freeForm[text] = value
            case .natsMessageID, .nats, .targetGroup:
                break
            }
            return nil
        }

        /// The core's bounds on a header's name and value.
        private static func checkLimits(
            _ name: UnsafeBufferPointer<UInt8>, _ value: String, kind: Kind,
            limits: EnvelopeLimits
        ) -> EnvelopeError? {
            guard !name.isEmpty, name.count <= limits.maximumHeaderValueBytes else {
                return EnvelopeError(
                    .invalidField, field: String(decoding: name.prefix(64), as: UTF8.self),
                    "header name must be 1 to \(limits.maximumHeaderValueBytes) bytes")
            }
            let isLinks: Bool
            if case .field(.links) = kind { isLinks = true } else { isLinks = false }
            let maximum =
                isLinks ? limits.maximumHeaderValueBytes * 8 : limits.maximumHeaderValueBytes
            guard value.utf8.count <= maximum else {
                return EnvelopeError(
                    .oversized, field: String(decoding: name, as: UTF8.self),
                    "value of \(value.utf8.count) bytes exceeds the limit of \(maximum)")
            }
            return nil
        }

        private static func shown(_ name: UnsafePointer<CChar>) -> String {
            String(
                decoding: UnsafeBufferPointer(start: name, count: min(strlen(name), 64))
                    .map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        subscript(_ field: Field) -> String? { values[field.rawValue] }

        /// The envelope the fields describe, as `Envelope(headerFields:payload:)` builds it.
        func envelope(payload: Data, channel: String, storedAt: Int64, attempt: Int) throws
            -> Envelope
        {
            let limits = EnvelopeLimits.standard
            guard payload.count <= limits.maximumBytes else {
                throw EnvelopeError(
                    .oversized, field: "payload",
                    "\(payload.count) bytes exceed the limit of \(limits.maximumBytes)")
            }
            if !hasSightlineHeader {
                return rawEnvelope(
                    payload: payload, channel: channel, storedAt: storedAt, attempt: attempt)
            }

            let id: MessageID
            if let parsed = self.id {
                id = parsed
            } else {
                let idText = try required(.id)
                throw EnvelopeError(
                    .invalidField, field: EnvelopeHeaderName.id, "'\(idText)' is not a UUID")
            }
            let priorityText = self[.priority] ?? "normal"
            guard let priority = Priority(rawValue: priorityText) else {
                throw EnvelopeError(
                    .invalidField, field: EnvelopeHeaderName.priority,
                    "'\(priorityText)' is not one of critical, high, normal, low")
            }
            let messageType = try required(.messageType)
            let schemaVersion = try integer(.schemaVersion) ?? 1
            let channel = try required(.channel)
            let createdAt = Int64(try integer(.createdAt) ?? 0)
            let expiresAt = try integer(.expiresAt)
            let links = try self.links(limits: limits)
            let attemptHeader = try integer(.attempt) ?? 1
            guard attemptHeader >= 1 else {
                throw EnvelopeError(
                    .invalidField, field: EnvelopeHeaderName.attempt,
                    "\(attemptHeader) is below 1")
            }

            return Envelope(
                id: id, messageType: messageType, schemaVersion: schemaVersion,
                channel: channel, partitionKey: self[.partitionKey], priority: priority,
                createdAt: Envelope.date(unixNanos: createdAt),
                expiresAt: expiresAt.map { Envelope.date(unixNanos: Int64($0)) },
                correlationID: self[.correlationID], causationID: self[.causationID],
                replyTo: self[.replyTo], headers: freeForm, traceParent: self[.traceParent],
                traceState: self[.traceState], baggage: self[.baggage], links: links,
                attempt: attempt, contentType: self[.contentType] ?? "application/octet-stream",
                payload: payload)
        }

        /// A raw message's envelope: its type and channel the channel's name, its id the
        /// `Nats-Msg-Id` when that is a UUID, else a fresh one, its creation time the
        /// stream's time stamp, its content type JSON unless given.
        private func rawEnvelope(payload: Data, channel: String, storedAt: Int64, attempt: Int)
            -> Envelope
        {
            Envelope(
                id: natsMessageID ?? MessageID.make(),
                messageType: channel, channel: channel,
                createdAt: Envelope.date(unixNanos: storedAt > 0 ? storedAt : 0), headers: freeForm,
                traceParent: self[.traceParent], traceState: self[.traceState],
                baggage: self[.baggage], attempt: attempt,
                contentType: self[.contentType] ?? "application/json", payload: payload)
        }

        private func required(_ field: Field) throws -> String {
            guard let value = self[field], !value.isEmpty else {
                throw EnvelopeError(
                    .missingField, field: field.name, "required header is absent or empty")
            }
            return value
        }

        private func integer(_ field: Field) throws -> Int? {
            guard let text = self[field] else { return nil }
            guard let value = Int(text) else {
                throw EnvelopeError(.invalidField, field: field.name, "'\(text)' is not an integer")
            }
            return value
        }

        private func links(limits: EnvelopeLimits) throws -> [SpanLink] {
            guard let text = self[.links] else { return [] }
            return try Envelope.links(headerValue: text, limits: limits)
        }
    }
}
