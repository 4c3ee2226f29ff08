import Sightline
import Testing

@Suite struct TraceParentTests {
    static let traceHex = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let parentHex = "00f067aa0ba902b7"
    static let traceID = TraceID(high: 0x4bf9_2f35_77b3_4da6, low: 0xa3ce_929d_0e0e_4736)
    static let parentID = SpanID(0x00f0_67aa_0ba9_02b7)

    struct Valid: Sendable, CustomStringConvertible {
        var header: String
        var version: UInt8
        var flags: UInt8
        var description: String { header }
    }

    static let validCases: [Valid] = [
        Valid(header: "00-\(traceHex)-\(parentHex)-01", version: 0, flags: 0x01),
        Valid(header: "00-\(traceHex)-\(parentHex)-00", version: 0, flags: 0x00),
        // Unknown flag bits pass through.
        Valid(header: "00-\(traceHex)-\(parentHex)-09", version: 0, flags: 0x09),
        Valid(header: "00-\(traceHex)-\(parentHex)-ff", version: 0, flags: 0xFF),
        // A higher version: exactly 55 characters, or '-' and anything after them.
        Valid(header: "01-\(traceHex)-\(parentHex)-01", version: 1, flags: 0x01),
        Valid(
            header: "cc-\(traceHex)-\(parentHex)-01-what-the-future-will-be", version: 0xCC,
            flags: 0x01),
        Valid(header: "fe-\(traceHex)-\(parentHex)-00-", version: 0xFE, flags: 0x00),
    ]

    @Test(arguments: validCases)
    func parse_whenValid_readsEveryField(_ valid: Valid) throws {
        let parsed = try #require(TraceParent.parse(valid.header))

        #expect(parsed.version == valid.version)
        #expect(parsed.traceID == Self.traceID)
        #expect(parsed.parentID == Self.parentID)
        #expect(parsed.flags.rawValue == valid.flags)
        #expect(parsed.flags.isSampled == (valid.flags & 1 == 1))
    }

    static let invalidCases: [String] = [
        "",
        // Version ff is forbidden; version 00 must be exactly 55 characters.
        "ff-\(traceHex)-\(parentHex)-01",
        "00-\(traceHex)-\(parentHex)-01-extra",
        "00-\(traceHex)-\(parentHex)-01-",
        "00-\(traceHex)-\(parentHex)-01 ",
        " 00-\(traceHex)-\(parentHex)-01",
        // A higher version must continue with '-' after the four fields.
        "01-\(traceHex)-\(parentHex)-01x",
        "01-\(traceHex)-\(parentHex)-01.extra",
        // Wrong lengths.
        "00-\(traceHex)-\(parentHex)-1",
        "00-\(traceHex.dropLast())-\(parentHex)-01",
        "00-\(traceHex)0-\(parentHex)-01",
        "00-\(traceHex)-\(parentHex.dropLast())-01",
        "0-\(traceHex)-\(parentHex)-01",
        // Wrong separators.
        "00_\(traceHex)-\(parentHex)-01",
        "00-\(traceHex)_\(parentHex)-01",
        "00-\(traceHex)-\(parentHex)_01",
        // Uppercase hex anywhere.
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-\(parentHex)-01",
        "00-\(traceHex)-00F067AA0BA902B7-01",
        "00-\(traceHex)-\(parentHex)-0A",
        "0A-\(traceHex)-\(parentHex)-01",
        // Non-hex characters.
        "00-4bf92f3577b34da6a3ce929d0e0e473g-\(parentHex)-01",
        "00-\(traceHex)-00f067aa0ba902bz-01",
        "00-\(traceHex)-\(parentHex)-0g",
        "xx-\(traceHex)-\(parentHex)-01",
        "00-+bf92f3577b34da6a3ce929d0e0e4736-\(parentHex)-01",
        // All-zero ids.
        "00-00000000000000000000000000000000-\(parentHex)-01",
        "00-\(traceHex)-0000000000000000-01",
        "01-00000000000000000000000000000000-\(parentHex)-01-future",
    ]

    @Test(arguments: invalidCases)
    func parse_whenInvalid_returnsNil(_ header: String) {
        #expect(TraceParent.parse(header) == nil)
    }

    @Test func headerValue_whenParsedFromHigherVersion_writesVersion00() throws {
        let parsed = try #require(
            TraceParent.parse("cc-\(Self.traceHex)-\(Self.parentHex)-09-more"))

        #expect(parsed.headerValue == "00-\(Self.traceHex)-\(Self.parentHex)-09")
    }

    @Test func headerValue_roundTripsVersion00() throws {
        let header = "00-\(Self.traceHex)-\(Self.parentHex)-01"

        #expect(try #require(TraceParent.parse(header)).headerValue == header)
    }

    @Test func makeSpanContext_isRemoteAndCarriesTraceState() throws {
        let parsed = try #require(TraceParent.parse("00-\(Self.traceHex)-\(Self.parentHex)-01"))

        let context = parsed.makeSpanContext(traceState: TraceState.parse("rojo=1"))

        #expect(context.traceID == Self.traceID)
        #expect(context.spanID == Self.parentID)
        #expect(context.flags == .sampled)
        #expect(context.traceState == "rojo=1")
        #expect(context.isRemote)
        #expect(TraceParent(context).headerValue == "00-\(Self.traceHex)-\(Self.parentHex)-01")
    }
}
