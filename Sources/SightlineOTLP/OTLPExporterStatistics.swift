/// Counters of one exporter since it was created. Read them with
/// ``OTLPHTTPExporter/statistics``; they only grow.
public struct OTLPExporterStatistics: Sendable, Hashable {
    /// HTTP requests attempted, retries included.
    public var requests: Int
    /// Attempts made after a retriable failure (so `requests - retries` is the number of
    /// export calls that sent anything).
    public var retries: Int
    /// Spans the receiver accepted.
    public var exportedSpans: Int
    /// Spans of export calls that failed for good (not delivered).
    public var failedSpans: Int
    /// Spans the receiver refused through `partial_success.rejected_spans`.
    public var rejectedSpans: Int
    /// Request body bytes handed to libcurl (after compression), retries included.
    public var bytesSent: Int

    public init(
        requests: Int = 0, retries: Int = 0, exportedSpans: Int = 0, failedSpans: Int = 0,
        rejectedSpans: Int = 0, bytesSent: Int = 0
    ) {
        self.requests = requests
        self.retries = retries
        self.exportedSpans = exportedSpans
        self.failedSpans = failedSpans
        self.rejectedSpans = rejectedSpans
        self.bytesSent = bytesSent
    }
}
