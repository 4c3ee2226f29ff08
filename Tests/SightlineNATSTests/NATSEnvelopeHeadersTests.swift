import CNATS
import Foundation
import Sightline
import Testing

@testable import SightlineNATS

/// The transport's direct header writing and reading, held side by side with the core's
/// header form (`headerFields()` and `Envelope(headerFields:payload:)`). No server needed.
@Suite struct NATSEnvelopeHeadersTests {
    let full = Envelope(
        id: MessageID(high: 0x0190_f3a1_2b3c_7def, low: 0x8123_4567_89ab_cdef),
        messageType: "orders.OrderPlaced", schemaVersion: 3, channel: "orders",
        partitionKey: "customer-7", priority: .high,
        createdAt: Date(timeIntervalSince1970: 1_700_000_000.123456),
        expiresAt: Date(timeIntervalSince1970: 1_700_000_060), correlationID: "conversation-1",
        causationID: "cause-9", replyTo: "_INBOX.reply", headers: ["tenant": "acme", "x-a": ""],
        traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        traceState: "vendor=1", baggage: "user=7",
        links: [
            SpanLink(
                traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), flags: .sampled,
                traceState: "a=b", attributes: ["k": "v"])
        ],
        attempt: 2, contentType: "application/json", payload: Data("{\"n\":1}".utf8))

    let plain = Envelope(
        messageType: "orders.OrderPlaced", channel: "orders", payload: Data("{}".utf8))

    init() {
        // The client's messages need the library initialised, as a connection does.
        _ = nats_Open(-1)
    }

    @Test func write_setsTheCoreHeaderForm() throws {
        let message = try NATSMessage.make(subject: "s", envelope: full, targetGroup: nil)
        defer { natsMsg_Destroy(message) }

        var written = try NATSMessage.headers(of: message).get()
        var expected = try full.headerFields().mapValues { [$0] }
        // The links' JSON objects may list their keys in any order: compare them decoded.
        let links = [written, expected].map { headers in
            headers[EnvelopeHeaderName.links]?.first.flatMap {
                try? JSONDecoder().decode([SpanLink].self, from: Data($0.utf8))
            }
        }
        written[EnvelopeHeaderName.links] = nil
        expected[EnvelopeHeaderName.links] = nil
        #expect(written == expected)
        #expect(links[0] == full.links)
        #expect(links[1] == full.links)
    }

    @Test func write_withDefaultFields_leavesThemOut() throws {
        let message = try NATSMessage.make(subject: "s", envelope: plain, targetGroup: "billing")
        defer { natsMsg_Destroy(message) }

        let written = try NATSMessage.headers(of: message).get()
        var expected = try plain.headerFields().mapValues { [$0] }
        for name in [
            EnvelopeHeaderName.schemaVersion, EnvelopeHeaderName.priority,
            EnvelopeHeaderName.correlationID, EnvelopeHeaderName.attempt,
        ] {
            expected[name] = nil
        }
        expected[NATSMessage.targetGroupHeader] = ["billing"]
        #expect(written == expected)
    }

    @Test func write_thenRead_givesTheEnvelopeBack() throws {
        for envelope in [full, plain] {
            let message = try NATSMessage.make(subject: "s", envelope: envelope, targetGroup: nil)
            defer { natsMsg_Destroy(message) }

            let reading = NATSEnvelopeHeaders.read(
                message, channel: "orders", storedAt: 0, attempt: envelope.attempt)
            let decoded = try Envelope(
                headerFields: envelope.headerFields(), payload: envelope.payload)
            #expect(try reading.envelope.get() == decoded)
            #expect(reading.targetGroup == nil)
        }
    }

    @Test func write_withLineBreakInFreeHeader_fails() {
        var envelope = plain
        envelope.headers["note"] = "two\r\nlines"

        #expect(throws: NATSError.self) {
            try NATSMessage.make(subject: "s", envelope: envelope, targetGroup: nil)
        }
    }

    @Test func write_withReservedFreeHeader_failsAsTheCoreDoes() {
        var envelope = plain
        envelope.headers["Sightline-Id"] = "x"

        #expect(throws: EnvelopeError.self) {
            try NATSMessage.make(subject: "s", envelope: envelope, targetGroup: nil)
        }
    }

    /// Header sets read both ways: the same envelope, or errors with the same code.
    @Test(arguments: [
        ["sightline-id": "0190f3a1-2b3c-7def-8123-456789abcdef", "sightline-type": "t"],
        [
            "Sightline-ID": "0190F3A1-2B3C-7DEF-8123-456789ABCDEF", "SIGHTLINE-TYPE": "t",
            "sightline-channel": "orders", "Content-Type": "text/plain", "x-free": "1",
            "sightline-priority": "low", "sightline-attempt": "+4",
            "sightline-schema-version": "-2", "sightline-future-field": "ignored",
        ],
        [
            "sightline-id": "0190f3a1-2b3c-7def-8123-456789abcdef", "sightline-type": "t",
            "sightline-channel": "orders", "sightline-priority": "urgent",
        ],
        [
            "sightline-id": "not-a-uuid", "sightline-type": "t", "sightline-channel": "orders",
        ],
        [
            "sightline-id": "0190f3a1-2b3c-7def-8123-456789abcdef", "sightline-type": "",
            "sightline-channel": "orders",
        ],
        [
            "sightline-id": "0190f3a1-2b3c-7def-8123-456789abcdef", "sightline-type": "t",
            "sightline-channel": "orders", "sightline-attempt": "0",
        ],
        [
            "sightline-id": "0190f3a1-2b3c-7def-8123-456789abcdef", "sightline-type": "t",
            "sightline-channel": "orders", "sightline-created-unix-nanos": "1.5",
        ],
        [
            "sightline-id": "0190f3a1-2b3c-7def-8123-456789abcdef", "sightline-type": "t",
            "sightline-channel": "orders", "sightline-links": "{not json",
        ],
        [
            "sightline-id": "0190f3a1-2b3c-7def-8123-456789abcdef", "sightline-type": "t",
            "sightline-channel": "orders", "x-long": String(repeating: "v", count: 8193),
        ],
    ])
    func read_givesWhatTheCoreDecodes(_ headers: [String: String]) throws {
        let payload = Data("{}".utf8)
        let message = try NATSMessage.make(subject: "s", headers: headers, payload: payload)
        defer { natsMsg_Destroy(message) }

        let direct = NATSEnvelopeHeaders.read(message, channel: "orders", storedAt: 0, attempt: 1)
        let core = Result { try Envelope(headerFields: headers, payload: payload) }
        switch (direct.envelope, core) {
        case (.success(let read), .success(var decoded)):
            decoded.attempt = 1
            #expect(read == decoded)
        case (.failure(let error), .failure(let coreError as EnvelopeError)):
            #expect(error.code == coreError.code)
        default:
            Issue.record("direct \(direct.envelope) but core \(core)")
        }
    }

    @Test func read_withSameFieldInTwoLetterCases_isADuplicate() throws {
        let message = try NATSMessage.make(
            subject: "s",
            headers: [
                "sightline-id": "0190f3a1-2b3c-7def-8123-456789abcdef", "sightline-type": "t",
                "sightline-channel": "orders", "Sightline-Channel": "other",
            ], payload: Data())
        defer { natsMsg_Destroy(message) }

        let reading = NATSEnvelopeHeaders.read(message, channel: "orders", storedAt: 0, attempt: 1)
        let error = #expect(throws: EnvelopeError.self) { try reading.envelope.get() }
        #expect(error?.code == .duplicateField)
    }

    @Test(arguments: [
        ("0190f3a1-2b3c-7def-8123-456789abcdef", true),
        ("0190F3A1-2B3C-7DEF-8123-456789ABCDEF", true),
        ("0190f3a1-2b3c-7def-8123-456789abcde", false),
        ("0190f3a1-2b3c-7def-8123-456789abcdef0", false),
        ("0190f3a1+2b3c-7def-8123-456789abcdef", false),
        ("0190f3a1-2b3c-7def-8123-456789abcdeg", false),
        ("", false),
    ])
    func messageID_readsWhatTheCoreReads(_ text: String, valid: Bool) {
        let direct = text.withCString { NATSEnvelopeHeaders.messageID($0) }
        #expect(direct == MessageID(text))
        #expect((direct != nil) == valid)
    }

    @Test func read_withIDInTwoLetterCases_isADuplicate() throws {
        let message = try NATSMessage.make(
            subject: "s",
            headers: [
                "sightline-id": "not-a-uuid",
                "Sightline-Id": "0190f3a1-2b3c-7def-8123-456789abcdef",
                "sightline-type": "t", "sightline-channel": "orders",
            ], payload: Data())
        defer { natsMsg_Destroy(message) }

        let reading = NATSEnvelopeHeaders.read(message, channel: "orders", storedAt: 0, attempt: 1)
        let error = #expect(throws: EnvelopeError.self) { try reading.envelope.get() }
        #expect(error?.code == .duplicateField)
    }

    @Test func read_rawMessage_takesTheChannelAndNATSMessageID() throws {
        let message = try NATSMessage.make(
            subject: "s",
            headers: [
                "Nats-Msg-Id": "0190f3a1-2b3c-7def-8123-456789abcdef", "traceparent": "tp",
                "tenant": "acme",
            ], payload: Data("{}".utf8))
        defer { natsMsg_Destroy(message) }

        let reading = NATSEnvelopeHeaders.read(
            message, channel: "orders", storedAt: 1_700_000_000_000_000_000, attempt: 3)
        let envelope = try reading.envelope.get()
        #expect(envelope.id.description == "0190f3a1-2b3c-7def-8123-456789abcdef")
        #expect(envelope.messageType == "orders")
        #expect(envelope.channel == "orders")
        #expect(envelope.contentType == "application/json")
        #expect(envelope.createdAt == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(envelope.headers == ["tenant": "acme"])
        #expect(envelope.traceParent == "tp")
        #expect(envelope.attempt == 3)
    }

    @Test func read_withTargetGroup_reportsIt() throws {
        let message = try NATSMessage.make(subject: "s", envelope: plain, targetGroup: "audit")
        defer { natsMsg_Destroy(message) }

        let reading = NATSEnvelopeHeaders.read(message, channel: "orders", storedAt: 0, attempt: 1)
        #expect(reading.targetGroup == "audit")
        #expect(try reading.envelope.get().id == plain.id)
    }
}
