import Foundation
import Sightline

extension NATSTransport {
    /// Sends a dead letter back to its group without a bus: for operator tools such as
    /// `sightline dlq redrive`, which run no handlers.
    ///
    /// As ``Bus/redrive(id:group:)``: the envelope keeps its id, starts again at attempt 1,
    /// and gains a span link to the trace context it was dead-lettered in
    /// (`sightline.link.reason` = `redrive`); it is published for that group only, and the
    /// letter leaves the store once the publish is acknowledged.
    ///
    /// - Throws: ``NATSError`` when publishing or removing fails; the letter then stays.
    public func redrive(_ letter: DeadLetter) async throws {
        var envelope = letter.envelope
        envelope.attempt = 1
        if let header = letter.deadLetterTraceParent, let parent = TraceParent.parse(header) {
            envelope.links.append(
                SpanLink(
                    traceID: parent.traceID, spanID: parent.parentID, flags: parent.flags,
                    traceState: envelope.traceState ?? "",
                    attributes: [
                        "sightline.link.reason": "redrive",
                        "sightline.dead_letter.reason": letter.reason.rawValue,
                    ]))
        }
        try await enqueue(
            envelope, to: [GroupKey(channel: envelope.channel, group: letter.group)],
            whenFull: .wait(timeout: .seconds(30)))
        _ = try await deadLetterStore.remove(id: letter.id, group: letter.group)
    }
}
