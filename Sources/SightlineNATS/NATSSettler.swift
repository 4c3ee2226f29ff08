import CNATS
import Foundation

/// Settles deliveries (acknowledge, retry, terminate) on a thread of its own, in batches:
/// every settlement queued meanwhile is sent, then one round trip to the server (a flush)
/// confirms the whole batch. When the connection was lost before the confirmation, the
/// batch is sent again once it is back, until `confirmWithin` has passed, so that a
/// settlement lost in an outage does not hold its message until the server's ack wait ends.
///
/// The queue needs no bound of its own: it holds settlements of delivered messages, and
/// the server hands out at most `MaxAckPending` unsettled messages per consumer.
final class NATSSettler: Sendable {
    /// What a settlement tells JetStream.
    enum Action: Sendable {
        case acknowledge
        /// Negative acknowledgement: deliver again after the delay.
        case retry(after: Duration)
        /// Never deliver again (the message went to the dead-letter store).
        case terminate

        /// The JetStream acknowledgement protocol's body for the action.
        var body: String {
            switch self {
            case .acknowledge: "+ACK"
            case .retry(let delay): "-NAK {\"delay\":\(delay.nanoseconds)}"
            case .terminate: "+TERM"
            }
        }
    }

    private struct Job {
        var handle: MessageHandle
        var action: Action
    }

    private struct State {
        var jobs: [Job] = []
        var busy = false
        var stopped = false
    }

    // NSCondition is thread-safe; every access to `state` happens while it is locked.
    private let condition = NSCondition()
    private nonisolated(unsafe) var state = State()
    private let connection: NATSConnection
    private let confirmWithin: Duration

    init(connection: NATSConnection, confirmWithin: Duration, name: String) {
        self.connection = connection
        self.confirmWithin = confirmWithin
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    /// Queues a settlement; the message is destroyed once it was sent. False when the
    /// settler was stopped; the caller then settles the message itself.
    func settle(_ handle: MessageHandle, _ action: Action) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !state.stopped else { return false }
        state.jobs.append(Job(handle: handle, action: action))
        if !state.busy { condition.signal() }
        return true
    }

    /// Sends what is queued, then ends the thread; waits up to `timeout` for that. Blocks.
    func stop(waitingUpTo timeout: Duration) {
        let deadline = Date().addingTimeInterval(timeout.seconds)
        condition.lock()
        defer { condition.unlock() }
        state.stopped = true
        condition.broadcast()
        while state.busy || !state.jobs.isEmpty, condition.wait(until: deadline) {}
    }

    private func loop() {
        while let batch = nextBatch() {
            send(batch)
            condition.lock()
            state.busy = false
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Everything queued, waiting while nothing is; nil once stopped and drained.
    private func nextBatch() -> [Job]? {
        condition.lock()
        defer { condition.unlock() }
        while state.jobs.isEmpty {
            if state.stopped { return nil }
            condition.wait()
        }
        state.busy = true
        defer { state.jobs.removeAll(keepingCapacity: true) }
        return state.jobs
    }

    private func send(_ batch: [Job]) {
        let deadline = Date().addingTimeInterval(confirmWithin.seconds)
        let flushTimeout = min(confirmWithin, connection.options.requestTimeout)
        while true {
            for job in batch {
                if let reply = natsMsg_GetReply(job.handle.pointer) {
                    natsConnection_PublishString(connection.handle, reply, job.action.body)
                }
            }
            let status = natsConnection_FlushTimeout(
                connection.handle, flushTimeout.wholeMilliseconds)
            if status == NATS_OK || status == NATS_CONNECTION_CLOSED || Date() >= deadline {
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        for job in batch {
            natsMsg_Destroy(job.handle.pointer)
        }
    }
}
