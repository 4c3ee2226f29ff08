import Foundation
import Sightline

/// Reads back-pressure policy files: YAML parsed with libyaml into a validated
/// ``BackPressurePolicy``.
///
/// Unknown keys, wrong types and out-of-range values are refused with the file, the line
/// of the offending key or value, the field's dotted path and the reason. Fields left out
/// keep the policy's documented defaults.
public enum PolicyFile {
    /// Parses and validates policy text.
    ///
    /// - Parameter file: how to name the source in errors.
    /// - Throws: ``PolicyFileError``.
    public static func parse(_ text: String, file: String) throws(PolicyFileError)
        -> BackPressurePolicy
    {
        let root: YAMLNode?
        do {
            root = try YAMLDocumentLoader.load(text)
        } catch {
            throw PolicyFileError(
                file: file, line: error.line, field: "yaml", reason: error.problem)
        }
        guard let root else {
            throw PolicyFileError(file: file, line: 1, field: "", reason: "the file is empty")
        }

        var decoder = PolicyDecoder(file: file)
        let policy = try decoder.decode(root)
        do {
            try policy.validate()
        } catch {
            throw PolicyFileError(
                file: file, line: decoder.line(of: error.field), field: error.field,
                reason: error.reason)
        }
        return policy
    }

    /// Reads, parses and validates the file at `path`.
    ///
    /// - Throws: ``PolicyFileError``; one without a line when the file cannot be read.
    public static func load(path: String) throws(PolicyFileError) -> BackPressurePolicy {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PolicyFileError(
                file: path, line: nil, field: "",
                reason: "cannot be read: \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PolicyFileError(file: path, line: nil, field: "", reason: "is not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// The effective policy, every field spelled out as a policy file would, defaults
    /// included. Parsing the text gives the same policy back.
    public static func render(_ policy: BackPressurePolicy) -> String {
        var lines = [
            "version: 1",
            "tick: \(policy.tick.policyText)",
            "stale_after_ticks: \(policy.staleAfterTicks)",
            "default_lag_target: \(policy.defaultLagTarget.policyText)",
            "max_delay: \(policy.maxDelay.policyText)",
            "cohorts: \(policy.cohorts)",
            "probe_share: \(policy.probeShare)",
            "thresholds:",
            "  throttle_start: \(policy.thresholds.throttleStart)",
            "  throttle_stop: \(policy.thresholds.throttleStop)",
            "  shed_start: \(policy.thresholds.shedStart)",
            "  shed_stop: \(policy.thresholds.shedStop)",
            "  minimum_dwell: \(policy.thresholds.minimumDwell.policyText)",
            "rate:",
            "  mode: \(policy.rate.mode.rawValue)",
            "  gain: \(policy.rate.gain)",
            "  integral_time: \(policy.rate.integralTime.policyText)",
            "  max_increase_per_tick: \(policy.rate.maxIncreasePerTick)",
            "  max_decrease_per_tick: \(policy.rate.maxDecreasePerTick)",
            "  increase_share: \(policy.rate.increaseShare)",
            "  calm_ticks_before_increase: \(policy.rate.calmTicksBeforeIncrease)",
            "  smoothing: \(policy.rate.smoothing)",
            "  trend_ticks: \(policy.rate.trendTicks)",
        ]
        let memory = [
            policy.memory.softLimitBytes.map { "  soft_limit: \($0)" },
            policy.memory.hardLimitBytes.map { "  hard_limit: \($0)" },
        ].compactMap { $0 }
        lines.append(memory.isEmpty ? "memory: {}" : "memory:")
        lines += memory

        lines.append(policy.channels.isEmpty ? "channels: {}" : "channels:")
        for name in policy.channels.keys.sorted() {
            lines.append("  \(quoted(name)):")
            lines.append("    lag_target: \(policy.channels[name]!.lagTarget.policyText)")
        }
        lines.append(policy.producers.isEmpty ? "producers: {}" : "producers:")
        for name in policy.producers.keys.sorted() {
            let producer = policy.producers[name]!
            lines.append("  \(quoted(name)):")
            if let priority = producer.priority {
                lines.append("    priority: \(priority.rawValue)")
            }
            lines.append("    tolerates_delay: \(producer.toleratesDelay)")
            if let delay = producer.maxDelay { lines.append("    max_delay: \(delay.policyText)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func quoted(_ name: String) -> String {
        let plain = name.allSatisfy { $0.isLetter || $0.isNumber || "._-/".contains($0) }
        guard !plain || name.isEmpty else { return name }
        return "\""
            + name.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
