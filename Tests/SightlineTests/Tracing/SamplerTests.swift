import Sightline
import Testing

@Suite struct SamplerTests {
    /// 10,000 fixed, well-spread trace ids (a SplitMix64 sequence from a fixed seed).
    static let fixedTraceIDs: [TraceID] = {
        var seed: UInt64 = 0x5167_6874_6c69_6e65
        func next() -> UInt64 {
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return (0..<10_000).map { _ in TraceID(high: next(), low: next()) }
    }()

    private func sampledShare(_ sampler: StandardSampler) -> Double {
        let sampled = Self.fixedTraceIDs.filter {
            sampler.shouldSample(
                parent: nil, traceID: $0, name: "s", kind: .internal, attributes: [:], links: []
            ) == .recordAndSample
        }
        return Double(sampled.count) / Double(Self.fixedTraceIDs.count)
    }

    private func context(sampled: Bool, remote: Bool) -> SpanContext {
        SpanContext(
            traceID: TraceID(high: 1, low: 0), spanID: SpanID(7),
            flags: sampled ? .sampled : TraceFlags(), isRemote: remote)
    }

    @Test func traceIDRatio_whenRatioIsZero_samplesNothing() {
        #expect(sampledShare(StandardSampler(kind: .traceIDRatio, ratio: 0)) == 0)
    }

    @Test func traceIDRatio_whenRatioIsOne_samplesEverything() {
        #expect(sampledShare(StandardSampler(kind: .traceIDRatio, ratio: 1)) == 1)
    }

    @Test func traceIDRatio_whenRatioIsTenPercent_samplesAboutTenPercent() {
        let share = sampledShare(StandardSampler(kind: .traceIDRatio, ratio: 0.1))

        #expect(share > 0.09 && share < 0.11)
    }

    @Test func ratioDecision_comparesTheLower64BitsWithRatioTimes2To64() {
        let justBelow = TraceID(high: 0xFFFF_FFFF_FFFF_FFFF, low: 0x7FFF_FFFF_FFFF_FFFF)
        let atBound = TraceID(high: 0, low: 0x8000_0000_0000_0000)

        #expect(StandardSampler.ratioDecision(traceID: justBelow, ratio: 0.5) == .recordAndSample)
        #expect(StandardSampler.ratioDecision(traceID: atBound, ratio: 0.5) == .drop)
        #expect(
            StandardSampler.ratioDecision(traceID: TraceID(high: 9, low: 0), ratio: 1e-9)
                == .recordAndSample)
        #expect(
            StandardSampler.ratioDecision(traceID: TraceID(high: 9, low: 0), ratio: 0)
                == .drop)
    }

    @Test func traceIDRatio_isDeterministicForATraceID() {
        let sampler = StandardSampler(kind: .traceIDRatio, ratio: 0.3)
        let decisions = Self.fixedTraceIDs.prefix(100).map {
            sampler.shouldSample(
                parent: nil, traceID: $0, name: "a", kind: .producer, attributes: [:], links: [])
        }
        let again = Self.fixedTraceIDs.prefix(100).map {
            sampler.shouldSample(
                parent: nil, traceID: $0, name: "b", kind: .consumer, attributes: [:], links: [])
        }

        #expect(decisions == again)
    }

    @Test func traceIDRatio_ignoresTheParent() {
        let sampler = StandardSampler(kind: .traceIDRatio, ratio: 1)

        let decision = sampler.shouldSample(
            parent: context(sampled: false, remote: true), traceID: TraceID(high: 1, low: 0),
            name: "s", kind: .internal, attributes: [:], links: [])

        #expect(decision == .recordAndSample)
    }

    @Test(arguments: [
        SamplerKind.parentBasedAlwaysOn, .parentBasedAlwaysOff, .parentBasedTraceIDRatio,
    ])
    func parentBased_followsTheParentsSampledFlag(_ kind: SamplerKind) {
        let sampler = StandardSampler(kind: kind, ratio: 0.5)
        for remote in [true, false] {
            let sampledChild = sampler.shouldSample(
                parent: context(sampled: true, remote: remote), traceID: TraceID(high: 1, low: 0),
                name: "s", kind: .consumer, attributes: [:], links: [])
            let droppedChild = sampler.shouldSample(
                parent: context(sampled: false, remote: remote),
                traceID: TraceID(high: 1, low: 0), name: "s", kind: .consumer, attributes: [:],
                links: [])

            #expect(sampledChild == .recordAndSample)
            #expect(droppedChild == .drop)
        }
    }

    @Test func parentBased_whenRoot_usesTheDelegate() {
        #expect(sampledShare(StandardSampler(kind: .parentBasedAlwaysOn)) == 1)
        #expect(sampledShare(StandardSampler(kind: .parentBasedAlwaysOff)) == 0)
        let share = sampledShare(StandardSampler(kind: .parentBasedTraceIDRatio, ratio: 0.1))
        #expect(share > 0.09 && share < 0.11)
    }

    @Test func parentBased_whenParentIsInvalid_treatsSpanAsRoot() {
        let invalid = SpanContext(traceID: .invalid, spanID: .invalid, flags: TraceFlags())

        let decision = StandardSampler(kind: .parentBasedAlwaysOn).shouldSample(
            parent: invalid, traceID: TraceID(high: 1, low: 1), name: "s", kind: .internal,
            attributes: [:], links: [])

        #expect(decision == .recordAndSample)
    }

    @Test func alwaysOnAndOff_ignoreTheParent() {
        #expect(
            StandardSampler(kind: .alwaysOn).shouldSample(
                parent: context(sampled: false, remote: true), traceID: TraceID(high: 1, low: 0),
                name: "s", kind: .internal, attributes: [:], links: []) == .recordAndSample)
        #expect(
            StandardSampler(kind: .alwaysOff).shouldSample(
                parent: context(sampled: true, remote: true), traceID: TraceID(high: 1, low: 0),
                name: "s", kind: .internal, attributes: [:], links: []) == .drop)
    }

    @Test func samplerKind_rawValuesAreTheEnvironmentSpellings() {
        #expect(
            SamplerKind.allCases.map(\.rawValue) == [
                "always_on", "always_off", "traceidratio", "parentbased_always_on",
                "parentbased_always_off", "parentbased_traceidratio",
            ])
    }
}
