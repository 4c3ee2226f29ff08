import Foundation
import Sightline
import SightlinePolicyYAML
import Testing

@Suite struct PolicyFileTests {
    static let examplePath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/policy.yaml").path

    func parseError(_ text: String) -> PolicyFileError? {
        #expect(throws: PolicyFileError.self) { try PolicyFile.parse(text, file: "p.yaml") }
    }

    // MARK: Good files

    @Test func load_exampleFile_givesItsValues() throws {
        let policy = try PolicyFile.load(path: Self.examplePath)

        #expect(policy.tick == .milliseconds(100))
        #expect(policy.maxDelay == .milliseconds(500))
        #expect(policy.memory == .init(softLimitBytes: 67_108_864, hardLimitBytes: 134_217_728))
        #expect(policy.channels["orders"] == .init(lagTarget: .milliseconds(200)))
        #expect(policy.channels["analytics.events"] == .init(lagTarget: .seconds(2)))
        #expect(policy.producers["checkout"] == .init(priority: .critical))
        #expect(
            policy.producers["recommendations"]
                == .init(priority: .normal, toleratesDelay: true, maxDelay: .milliseconds(250)))
        #expect(policy.rate.mode == .pi)
        #expect(policy.thresholds == BackPressurePolicy.Thresholds())
    }

    @Test func parse_minimalFile_keepsDefaults() throws {
        let policy = try PolicyFile.parse("version: 1\n", file: "p.yaml")

        #expect(policy == BackPressurePolicy())
    }

    @Test func render_thenParse_givesTheSamePolicy() throws {
        let policy = try PolicyFile.load(path: Self.examplePath)

        let again = try PolicyFile.parse(PolicyFile.render(policy), file: "rendered")

        #expect(again == policy)
    }

    @Test func parse_valueForms_areUnderstood() throws {
        let policy = try PolicyFile.parse(
            """
            tick: 1.5s
            max_delay: 750us
            default_lag_target: 2m
            memory:
              soft_limit: 500KB
              hard_limit: 1048577
            rate:
              mode: aimd
            """, file: "p.yaml")

        #expect(policy.tick == .milliseconds(1500))
        #expect(policy.maxDelay == .microseconds(750))
        #expect(policy.defaultLagTarget == .seconds(120))
        #expect(policy.memory == .init(softLimitBytes: 500_000, hardLimitBytes: 1_048_577))
        #expect(policy.rate.mode == .aimd)
    }

    // MARK: Bad files

    @Test func parse_unknownTopLevelKey_namesLineAndKey() {
        let error = parseError("version: 1\ntick: 100ms\ntick_rate: 5\n")

        #expect(
            error?.description
                == "p.yaml:3: tick_rate: unknown key; expected one of version, tick, "
                + "stale_after_ticks, default_lag_target, max_delay, cohorts, probe_share, "
                + "thresholds, rate, memory, channels, producers")
    }

    @Test func parse_unknownNestedKey_namesItsPath() {
        let error = parseError("producers:\n  analytics:\n    priority: low\n    tolerate: true\n")

        #expect(error?.line == 4)
        #expect(error?.field == "producers.analytics.tolerate")
        #expect(
            error?.reason == "unknown key; expected one of priority, tolerates_delay, max_delay")
    }

    @Test func parse_mappingWhereScalarExpected_saysSo() {
        let error = parseError("version: 1\nthresholds: 5\n")

        #expect(error?.description == "p.yaml:2: thresholds: expected a mapping, got a scalar")
    }

    @Test func parse_badDuration_quotesTheValue() {
        let error = parseError("tick: fast\n")

        #expect(
            error?.description
                == "p.yaml:1: tick: expected a duration such as 250ms or 1.5s, got 'fast'")
    }

    @Test func parse_durationWithoutUnit_isRefused() {
        let error = parseError("channels:\n  orders:\n    lag_target: 200\n")

        #expect(
            error?.description
                == "p.yaml:3: channels.orders.lag_target: expected a duration such as 250ms "
                + "or 1.5s, got '200'")
    }

    @Test func parse_badPriority_listsTheNames() {
        let error = parseError("producers:\n  analytics:\n    priority: urgent\n")

        #expect(
            error?.description
                == "p.yaml:3: producers.analytics.priority: expected critical, high, normal or "
                + "low, got 'urgent'")
    }

    @Test func parse_yesForBoolean_isRefused() {
        let error = parseError("producers:\n  a:\n    tolerates_delay: yes\n")

        #expect(
            error?.description
                == "p.yaml:3: producers.a.tolerates_delay: expected true or false, got 'yes'")
    }

    @Test func parse_outOfRangeValue_pointsAtItsLine() {
        let error = parseError("version: 1\n\nprobe_share: 0.9\n")

        #expect(error?.description == "p.yaml:3: probe_share: must be from 0 to 0.5 (got 0.9)")
    }

    @Test func parse_inconsistentThresholds_pointsAtTheLaterOne() {
        let error = parseError(
            "thresholds:\n  throttle_start: 1.2\n  throttle_stop: 0.4\n  shed_start: 1.1\n")

        #expect(
            error?.description
                == "p.yaml:4: thresholds.shed_start: must be above throttle_start 1.2 (got 1.1)")
    }

    @Test func parse_hardLimitBelowSoft_isRefused() {
        let error = parseError("memory:\n  soft_limit: 2MiB\n  hard_limit: 1MiB\n")

        #expect(
            error?.description
                == "p.yaml:3: memory.hard_limit: must be above soft_limit 2097152 bytes "
                + "(got 1048576)")
    }

    @Test func parse_duplicateKey_isRefused() {
        let error = parseError("tick: 100ms\ncohorts: 8\ntick: 200ms\n")

        #expect(error?.description == "p.yaml:3: tick: appears twice")
    }

    @Test func parse_unknownVersion_isRefused() {
        let error = parseError("version: 2\n")

        #expect(error?.description == "p.yaml:1: version: only version 1 is known (got 2)")
    }

    @Test func parse_malformedYAML_givesLibyamlsProblemAndLine() {
        let error = parseError("version: 1\nchannels:\n  orders: [lag_target\n")

        #expect(error?.field == "yaml")
        #expect(error?.line == 4)
        #expect(
            error?.description
                == "p.yaml:4: yaml: while parsing a flow sequence: did not find expected ',' "
                + "or ']'")
    }

    @Test func parse_emptyFile_isRefused() {
        let error = parseError("# nothing here\n")

        #expect(error?.description == "p.yaml:1: the file is empty")
    }

    @Test func parse_twoDocuments_isRefused() {
        let error = parseError("version: 1\n---\nversion: 1\n")

        #expect(error?.line == 3)
        #expect(error?.reason == "a policy file holds one YAML document, found more")
    }

    @Test func load_missingFile_hasNoLine() {
        let error = #expect(throws: PolicyFileError.self) {
            try PolicyFile.load(path: "/nonexistent/policy.yaml")
        }

        #expect(error?.line == nil)
        #expect(error?.description.hasPrefix("/nonexistent/policy.yaml: cannot be read") == true)
    }
}
