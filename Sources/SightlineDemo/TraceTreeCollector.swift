import Sightline
import Synchronization

/// Keeps the spans of the first few traces and draws them as trees, so that a person can see
/// a demo's traces with no collector running.
public final class TraceTreeCollector: SpanExporter {
    private struct State {
        var traces: [TraceID] = []
        var spans: [TraceID: [SpanData]] = [:]
    }

    private let state = Mutex(State())
    private let traceLimit: Int
    private let spansPerTrace = 64

    public init(traces: Int) {
        self.traceLimit = traces
    }

    public func export(_ spans: [SpanData], resource: TracingResource) async -> SpanExportResult {
        state.withLock { state in
            for span in spans {
                let traceID = span.context.traceID
                if state.spans[traceID] == nil {
                    guard state.traces.count < traceLimit else { continue }
                    state.traces.append(traceID)
                }
                if state.spans[traceID, default: []].count < spansPerTrace {
                    state.spans[traceID, default: []].append(span)
                }
            }
        }
        return .success(rejected: 0)
    }

    public func forceFlush(deadline: ContinuousClock.Instant) async {}

    public func shutdown(deadline: ContinuousClock.Instant) async {}

    /// The collected traces, one tree each, children ordered by start time.
    public func render() -> String {
        let (traces, spans) = state.withLock { ($0.traces, $0.spans) }
        var lines: [String] = []
        for traceID in traces {
            let members = spans[traceID] ?? []
            lines.append("trace \(traceID.hex)")
            let ids = Set(members.map(\.context.spanID))
            let roots = members.filter { $0.parentSpanID.map { !ids.contains($0) } ?? true }
            for root in roots.sorted(by: { $0.startTimeUnixNano < $1.startTimeUnixNano }) {
                draw(root, among: members, depth: 1, into: &lines)
            }
        }
        return lines.joined(separator: "\n")
    }

    private func draw(
        _ span: SpanData, among spans: [SpanData], depth: Int, into lines: inout [String]
    ) {
        let micros = Double(span.endTimeUnixNano &- span.startTimeUnixNano) / 1000
        var line = String(repeating: "  ", count: depth) + span.name
        if case .string(let group) = span.attributes["messaging.consumer.group.name"] {
            line += " [\(group)]"
        }
        if case .int(let attempt) = span.attributes["sightline.attempt"], attempt > 1 {
            line += " attempt \(attempt)"
        }
        line += " \(Int(micros.rounded())) µs"
        if case .error(let description) = span.status { line += " ERROR \(description)" }
        for event in span.events {
            let reason = event.attributes["sightline.dead_letter.reason"].map { " \($0)" } ?? ""
            line += " · \(event.name)\(reason)"
        }
        lines.append(line)

        let children = spans.filter { $0.parentSpanID == span.context.spanID }
        for child in children.sorted(by: { $0.startTimeUnixNano < $1.startTimeUnixNano }) {
            draw(child, among: spans, depth: depth + 1, into: &lines)
        }
    }
}
