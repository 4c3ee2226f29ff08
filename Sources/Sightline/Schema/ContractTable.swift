import Synchronization

/// What the bus knows about each subscription's contract: the schema version it handles
/// and its routing filter; and the schema metric families, made on first use.
final class ContractTable: Sendable {
    private struct Entry {
        var handledVersion: Int
        var filter: SubscriptionFilter
    }

    /// Group → message type → entry.
    private let entries = Mutex<[GroupKey: [String: Entry]]>([:])
    private let metricFamilies = Mutex<SchemaMetrics?>(nil)
    /// Whether any subscription has a filter other than ``SubscriptionFilter/all``: without
    /// one, routing a publish skips the filter lookups.
    private let hasFilters = Atomic(false)

    func record(
        _ key: GroupKey, messageType: String, handledVersion: Int, filter: SubscriptionFilter
    ) {
        entries.withLock {
            $0[key, default: [:]][messageType] = Entry(
                handledVersion: handledVersion, filter: filter)
        }
        if !filter.acceptsEverything { hasFilters.store(true, ordering: .releasing) }
    }

    /// The version the group handles for the type; nil when unknown.
    func handledVersion(_ key: GroupKey, messageType: String) -> Int? {
        entries.withLock { $0[key]?[messageType]?.handledVersion }
    }

    /// The subscriptions whose filters let the envelope through.
    func filtered(_ subscriptions: [Subscription], for envelope: Envelope) -> [Subscription] {
        guard hasFilters.load(ordering: .acquiring) else { return subscriptions }
        return subscriptions.filter { admits(envelope, to: $0.key) }
    }

    /// Whether the group's filter lets the envelope through.
    func admits(_ envelope: Envelope, to key: GroupKey) -> Bool {
        let filter = entries.withLock { $0[key]?[envelope.messageType]?.filter }
        return filter?.matches(envelope) ?? true
    }

    /// The schema families on the bus's registry, registered the first time they are asked
    /// for; nil without metrics, or when the registry holds clashing families (the bus then
    /// records no schema metrics rather than fail).
    func metrics(_ busMetrics: BusMetrics?) -> SchemaMetrics? {
        guard let busMetrics else { return nil }
        return metricFamilies.withLock { families in
            if let families { return families }
            families = try? SchemaMetrics(registry: busMetrics.registry)
            return families
        }
    }
}
