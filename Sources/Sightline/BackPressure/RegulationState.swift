/// Where one channel's regulation stands.
public enum RegulationState: String, Hashable, Sendable, CaseIterable {
    /// Pressure is low: every message is admitted.
    case calm
    /// Pressure is moderate: messages over the admitted rate from delay-tolerant producers
    /// are delayed, the others shed.
    case throttling
    /// Pressure is high: every message over the admitted rate is shed.
    case shedding
}
