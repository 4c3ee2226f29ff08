import Foundation
import Sightline
import Testing

@Suite struct EnvelopeCodingTests {
    let full = Envelope(
        id: MessageID("01890a5d-ac96-774b-bcce-b302099a8057")!, messageType: "orders.OrderPlaced",
        schemaVersion: 3, channel: "orders", partitionKey: "customer-17", priority: .high,
        createdAt: Date(timeIntervalSince1970: 1_733_234_567.125),
        expiresAt: Date(timeIntervalSince1970: 1_733_234_999), correlationID: "conv-1",
        causationID: "01890a5d-ac96-774b-bcce-b302099a8000", replyTo: "sightline.reply.x",
        headers: ["tenant": "acme", "x-empty": ""],
        traceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        traceState: "sightline=1,congo=t61rcWkgMzE", baggage: "userId=alice",
        links: [
            SpanLink(
                traceID: TraceID(high: 1, low: 2), spanID: SpanID(3), flags: .sampled,
                traceState: "a=b", attributes: ["sightline.link.reason": "redrive"])
        ],
        attempt: 4, contentType: "application/json", payload: Data(#"{"amount":12.5}"#.utf8))

    @Test func binary_roundTrip_keepsEveryField() throws {
        let decoded = try Envelope(decoding: try full.encoded())
        #expect(decoded == full)
    }

    @Test func headers_roundTrip_keepsEveryField() throws {
        let fields = try full.headerFields()

        let decoded = try Envelope(headerFields: fields, payload: full.payload)

        #expect(decoded == full)
        #expect(fields["traceparent"] == full.traceParent)
        #expect(fields["sightline-id"] == "01890a5d-ac96-774b-bcce-b302099a8057")
        #expect(fields["tenant"] == "acme")
    }

    @Test func headers_matchNamesCaseInsensitively() throws {
        var fields = try full.headerFields()
        let value = fields.removeValue(forKey: "sightline-type")!
        fields["Sightline-Type"] = value

        let decoded = try Envelope(headerFields: fields, payload: full.payload)

        #expect(decoded.messageType == "orders.OrderPlaced")
    }

    @Test func decode_everyTruncation_throwsTypedErrorNeverTraps() throws {
        let bytes = try full.encoded()
        for length in 0..<bytes.count {
            #expect(throws: EnvelopeError.self) {
                _ = try Envelope(decoding: bytes.prefix(length))
            }
        }
    }

    @Test func decode_truncatedField_namesTheField() throws {
        let bytes = try full.encoded()

        let error = #expect(throws: EnvelopeError.self) {
            _ = try Envelope(decoding: bytes.prefix(bytes.count - 3))
        }

        #expect(error?.code == .truncated)
        #expect(error?.field == "payload")
    }

    @Test func decode_garbage_isNotAnEnvelope() {
        let error = #expect(throws: EnvelopeError.self) {
            _ = try Envelope(decoding: Data("GET / HTTP/1.1\r\n".utf8))
        }
        #expect(error?.code == .notAnEnvelope)
    }

    @Test func decode_randomBytesAfterMarker_neverTraps() {
        var random = SplitMix64(seed: 99)
        for _ in 0..<2000 {
            let length = Int(random.next() % 200)
            let tail = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let input = Data([0x53, 0x4C, 0x45, 0x01] + tail)
            _ = try? Envelope(decoding: input)
        }
    }

    @Test func decode_oversized_isRejectedBeforeParsing() throws {
        var limits = EnvelopeLimits()
        limits.maximumBytes = 64

        let error = #expect(throws: EnvelopeError.self) {
            _ = try Envelope(decoding: try full.encoded(), limits: limits)
        }

        #expect(error?.code == .oversized)
    }

    @Test func decode_unsupportedVersion_saysWhich() {
        let error = #expect(throws: EnvelopeError.self) {
            _ = try Envelope(decoding: Data([0x53, 0x4C, 0x45, 0x09]))
        }
        #expect(error?.code == .unsupportedVersion)
        #expect(error?.message.contains("format version 9") == true)
    }

    @Test func headers_withMissingID_namesTheHeader() throws {
        var fields = try full.headerFields()
        fields["sightline-id"] = nil

        let error = #expect(throws: EnvelopeError.self) {
            _ = try Envelope(headerFields: fields, payload: Data())
        }

        #expect(error?.code == .missingField)
        #expect(error?.field == "sightline-id")
    }

    @Test(arguments: [
        ("sightline-attempt", "zero", EnvelopeError.Code.invalidField),
        ("sightline-attempt", "0", .invalidField),
        ("sightline-priority", "urgent", .invalidField),
        ("sightline-id", "not-a-uuid", .invalidField),
        ("sightline-links", "[{\"trace_id\":\"00\"}]", .invalidField),
        ("sightline-schema-version", "1.5", .invalidField),
    ])
    func headers_withMalformedValue_throwsNamedError(
        header: String, value: String, code: EnvelopeError.Code
    ) throws {
        var fields = try full.headerFields()
        fields[header] = value

        let error = #expect(throws: EnvelopeError.self) {
            _ = try Envelope(headerFields: fields, payload: Data())
        }

        #expect(error?.code == code)
        #expect(error?.field == header)
    }

    @Test func headers_withOversizedValue_isRejected() throws {
        var fields = try full.headerFields()
        fields["tenant"] = String(repeating: "x", count: 9000)

        let error = #expect(throws: EnvelopeError.self) {
            _ = try Envelope(headerFields: fields, payload: Data())
        }

        #expect(error?.code == .oversized)
        #expect(error?.field == "tenant")
    }

    @Test func encode_withReservedFreeHeader_isRefused() {
        var envelope = full
        envelope.headers["sightline-attempt"] = "9"

        let error = #expect(throws: EnvelopeError.self) { _ = try envelope.encoded() }

        #expect(error?.code == .reservedHeader)
    }

    @Test func messageIDs_madeInSequence_areOrderedAndUnique() {
        let date = Date(timeIntervalSince1970: 1_733_234_567)
        let ids = (0..<10_000).map { _ in MessageID.make(at: date) }

        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        #expect(MessageID(ids[0].description) == ids[0])
        #expect(ids[0].description.count == 36)
    }
}

@Suite struct EnvelopeTimeRangeTests {
    @Test(arguments: [Date.distantFuture, Date.distantPast, Date(timeIntervalSince1970: 1e300)])
    func encode_withDateOutsideNanosecondRange_saturatesInsteadOfTrapping(date: Date) throws {
        let envelope = Envelope(
            messageType: "t", channel: "c", createdAt: date, expiresAt: date, payload: Data())

        let decoded = try Envelope(decoding: try envelope.encoded())
        let fields = try envelope.headerFields()

        let expected = date > Date() ? "9223372036854775807" : "-9223372036854775808"
        #expect(fields["sightline-expires-unix-nanos"] == expected)
        #expect(decoded.expiresAt == decoded.createdAt)
    }

    @Test func headers_withLargestExpiry_reencodeWithoutTrapping() throws {
        var fields = try Envelope(messageType: "t", channel: "c", payload: Data()).headerFields()
        fields["sightline-expires-unix-nanos"] = "9223372036854775807"

        let envelope = try Envelope(headerFields: fields, payload: Data())

        #expect(
            try envelope.headerFields()["sightline-expires-unix-nanos"] == "9223372036854775807")
        #expect(try Envelope(decoding: try envelope.encoded()).expiresAt == envelope.expiresAt)
    }
}
