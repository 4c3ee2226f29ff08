extension Bus {
    /// Asks the configured admission control about one message before it is built:
    /// returns at once on admit, after the delay on throttle, and throws on shed.
    ///
    /// - Throws: ``BusError`` `shed` carrying the controller's retry-after hint;
    ///   `CancellationError` when the task is cancelled during a throttle delay.
    func admit(channel: String, priority: Priority, options: PublishOptions) async throws {
        guard let admission = configuration.admission else { return }
        let decision = admission.decide(
            channel: channel, priority: priority, producer: options.producer,
            timeToLive: options.timeToLive)
        switch decision {
        case .admit:
            return
        case .throttle(let delay):
            try await clock.sleep(for: delay)
        case .shed(let retryAfter, let reason):
            throw BusError(
                .shed, "message on \(channel) was shed: \(reason)",
                retryAfter: retryAfter)
        }
    }
}
