/// The metric families of versioned message contracts, registered next to ``BusMetrics``
/// on the same registry.
///
/// Version labels are bounded: a version the consumer knows is written as its number, a
/// newer one as `newer`, a malformed one as `invalid`.
public struct SchemaMetrics: Sendable {
    public static let received = MetricDefinition(
        "sightline_schema_messages_received_total",
        "Messages a consumer read, by message type and the schema version received.",
        ["channel", "group", "message_type", "version"])
    public static let upcasts = MetricDefinition(
        "sightline_schema_upcasts_total",
        "Upcast steps applied to older messages before their handler ran.",
        ["channel", "group", "message_type", "from_version", "to_version"])
    public static let rejections = MetricDefinition(
        "sightline_schema_rejections_total",
        "Messages a consumer could not read, by dead-letter reason.",
        ["channel", "group", "message_type", "reason"])
    public static let transforms = MetricDefinition(
        "sightline_transforms_total",
        "Messages translated from one type to another by a declared transform.",
        ["from_type", "to_type", "error_type"])

    /// Every definition the set registers.
    public static let definitions = [received, upcasts, rejections, transforms]

    public let received: CounterFamily
    public let upcasts: CounterFamily
    public let rejections: CounterFamily
    public let transforms: CounterFamily

    /// Registers the families (or finds them, when the registry already has them).
    ///
    /// - Throws: ``MetricsRegistrationError`` when a family of one of these names exists
    ///   with another shape.
    public init(registry: MetricsRegistry) throws(MetricsRegistrationError) {
        func counter(_ definition: MetricDefinition) throws(MetricsRegistrationError)
            -> CounterFamily
        {
            try registry.counter(
                name: definition.name, help: definition.help, labelNames: definition.labelNames)
        }
        received = try counter(Self.received)
        upcasts = try counter(Self.upcasts)
        rejections = try counter(Self.rejections)
        transforms = try counter(Self.transforms)
    }

    /// The bounded label of a received version for a consumer handling `handled`.
    public static func versionLabel(_ version: Int, handled: Int) -> String {
        if version < 1 { return "invalid" }
        if version > handled { return "newer" }
        return String(version)
    }
}
