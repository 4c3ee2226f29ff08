/// The W3C `baggage` header, which Sightline carries but never interprets.
///
/// Baggage is application data (W3C Baggage), not trace identity, so Sightline does not
/// parse, validate, merge or size-limit it: a received value travels on as the exact string
/// it arrived as, next to `traceparent` and `tracestate`. There is deliberately no baggage
/// type; this namespace only names the header.
public enum Baggage {
    /// The header name, lowercase as it is written on the wire.
    public static let headerName = "baggage"
}
