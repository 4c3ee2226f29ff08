import Synchronization

/// The series of one family, keyed by label values, with the family's cardinality limit.
///
/// The lock is taken only to find or create a handle; recording through a handle never
/// touches it. Series keep their creation order, which is the exposition order.
final class SeriesTable<Handle: AnyObject & Sendable>: Sendable {
    private struct State {
        var index: [[String]: Handle] = [:]
        var ordered: [(labelValues: [String], handle: Handle)] = []
        var overflow: Handle?
    }

    private enum Lookup {
        case found(Handle)
        case folded(Handle, wrongArity: Bool)
    }

    let familyName: String
    let labelNames: [String]
    let cardinalityLimit: Int
    private let makeHandle: @Sendable () -> Handle
    private let onOverflow: @Sendable () -> Void
    private let logger: Logger
    private let overflowLabelValues: [String]
    private let state = Mutex(State())

    init(
        familyName: String, labelNames: [String], cardinalityLimit: Int, logger: Logger,
        makeHandle: @escaping @Sendable () -> Handle,
        onOverflow: @escaping @Sendable () -> Void
    ) {
        self.familyName = familyName
        self.labelNames = labelNames
        self.cardinalityLimit = cardinalityLimit
        self.logger = logger
        self.makeHandle = makeHandle
        self.onOverflow = onOverflow
        overflowLabelValues = Array(
            repeating: MetricsRegistry.overflowLabelValue, count: labelNames.count)
    }

    /// The handle for `labelValues`, created on first use.
    ///
    /// A label set that would exceed the cardinality limit, or that has the wrong number of
    /// values, gets the family's overflow series (every label value
    /// ``MetricsRegistry/overflowLabelValue``) and counts one overflow.
    func handle(for labelValues: [String]) -> Handle {
        let outcome: Lookup = state.withLock { state in
            if let existing = state.index[labelValues] { return .found(existing) }

            let wrongArity = labelValues.count != labelNames.count

            // A family without labels has exactly one series: an overflow series beside it
            // would expose the same sample twice, so every use lands on that one series.
            if labelNames.isEmpty {
                let handle = state.index[[]] ?? Self.insert([], makeHandle(), into: &state)
                return wrongArity ? .folded(handle, wrongArity: true) : .found(handle)
            }

            // Values spelling the overflow series name it rather than a second series.
            let namesOverflow = !wrongArity && labelValues == overflowLabelValues
            if !wrongArity && !namesOverflow && state.ordered.count < cardinalityLimit {
                return .found(Self.insert(labelValues, makeHandle(), into: &state))
            }

            let overflow = state.overflow ?? makeHandle()
            state.overflow = overflow
            return namesOverflow ? .found(overflow) : .folded(overflow, wrongArity: wrongArity)
        }

        switch outcome {
        case .found(let handle):
            return handle
        case .folded(let handle, let wrongArity):
            onOverflow()
            if wrongArity {
                logger.warning(
                    "metric used with the wrong number of label values; recorded as overflow",
                    [
                        LogKey.metric: familyName,
                        LogKey.count: String(labelValues.count),
                        LogKey.value: String(labelNames.count),
                    ])
            }
            return handle
        }
    }

    private static func insert(
        _ labelValues: [String], _ handle: Handle, into state: inout State
    ) -> Handle {
        state.index[labelValues] = handle
        state.ordered.append((labelValues, handle))
        return handle
    }

    /// Every series with its label values, the overflow series last.
    func allSeries() -> [(labelValues: [String], handle: Handle)] {
        state.withLock { state in
            var result = state.ordered
            if let overflow = state.overflow {
                result.append((overflowLabelValues, overflow))
            }
            return result
        }
    }
}
