import Foundation
import Synchronization

/// The metric handles of one subscriber group, resolved once when the group starts so that
/// the delivery path records with atomic operations only. A class, so that the delivery
/// path shares one reference instead of copying (and retaining) every handle.
final class GroupMetrics: Sendable {
    let metrics: BusMetrics
    let key: GroupKey
    let system: String
    let delivered: Counter
    let acknowledged: Counter
    let inFlight: Gauge
    let consumed: Counter
    let processed: Histogram

    init(metrics: BusMetrics, key: GroupKey, system: String) {
        self.metrics = metrics
        self.key = key
        self.system = system
        delivered = metrics.delivered.labels(key.channel, key.group)
        acknowledged = metrics.acknowledged.labels(key.channel, key.group)
        inFlight = metrics.handlersInFlight.labels(key.channel, key.group)
        consumed = metrics.clientConsumedMessages.labels(
            system, "process", key.channel, key.group, "")
        processed = metrics.processDuration.labels(system, "process", key.channel, key.group, "")

        // Series that count rare events exist from the start at zero, so that `increase()`
        // sees their first event and dashboards show zero rather than no data.
        _ = metrics.deduplicated.labels(key.channel, key.group)
        _ = metrics.redriven.labels(key.channel, key.group)
        for priority in Priority.allCases {
            _ = metrics.publishThrottled.labels(key.channel, priority.rawValue)
            _ = metrics.publishThrottleDelay.labels(key.channel, priority.rawValue)
            _ = metrics.shed.labels(key.channel, priority.rawValue)
        }
    }

    /// Records one finished handler run.
    func recordAttempt(duration: Duration, errorType: String?, span: Span) {
        let exemplar =
            span.context.flags.isSampled
            ? Exemplar(
                traceID: span.context.traceID, spanID: span.context.spanID,
                value: duration.seconds, timestamp: Date())
            : nil
        guard let errorType else {
            consumed.increment()
            processed.observe(duration.seconds, exemplar: exemplar)
            acknowledged.increment()
            return
        }
        metrics.clientConsumedMessages.labels(
            system, "process", key.channel, key.group, errorType
        ).increment()
        metrics.processDuration.labels(system, "process", key.channel, key.group, errorType)
            .observe(duration.seconds, exemplar: exemplar)
        metrics.failed.labels(key.channel, key.group, errorType).increment()
    }

    func recordRetry(nextAttempt: Int) {
        metrics.retries.labels(key.channel, key.group, BusMetrics.attemptLabel(nextAttempt))
            .increment()
    }

    func recordDeadLetter(reason: DeadLetterReason) {
        metrics.deadLettered.labels(key.channel, key.group, reason.rawValue).increment()
    }
}

/// The metric handles of one publishing route (channel, type, priority, operation).
struct PublishMetrics: Sendable {
    struct Key: Hashable, Sendable {
        var channel: String
        var messageType: String
        var priority: Priority
        var operation: String
    }

    let published: Counter
    let sent: Counter
    let duration: Histogram

    init(metrics: BusMetrics, key: Key, system: String) {
        published = metrics.published.labels(
            key.channel, key.messageType, key.priority.rawValue)
        sent = metrics.clientSentMessages.labels(system, key.operation, key.channel, "")
        duration = metrics.clientOperationDuration.labels(
            system, key.operation, key.channel, "", "")
    }
}

extension Bus {
    /// Records a publish or send that finished (successfully or not).
    func recordPublish(
        _ envelope: Envelope, operation: String, started: Duration, error: (any Error)?
    ) {
        guard let metrics else { return }
        let duration = (clock.now() - started).seconds
        guard let error else {
            // The successful path uses handles resolved once per route, so that it costs
            // one lookup instead of three family lookups.
            let key = PublishMetrics.Key(
                channel: envelope.channel, messageType: envelope.messageType,
                priority: envelope.priority, operation: operation)
            let handles = publishMetrics.withLock { cache in
                if let cached = cache[key] { return cached }
                let made = PublishMetrics(metrics: metrics, key: key, system: transport.system)
                cache[key] = made
                return made
            }
            handles.published.increment()
            handles.sent.increment()
            handles.duration.observe(duration)
            return
        }

        let errorType = Self.errorType(error)
        metrics.clientSentMessages.labels(
            transport.system, operation, envelope.channel, errorType
        ).increment()
        metrics.clientOperationDuration.labels(
            transport.system, operation, envelope.channel, "", errorType
        ).observe(duration)
    }

    /// Refreshes the dead-letter depth gauge from the store.
    func refreshDeadLetterDepth() async {
        guard let metrics, let count = try? await deadLetterStore.count() else { return }
        metrics.deadLetterDepth.labels().set(Double(count))
    }

    /// Registers what is read at scrape time: lag and queue gauges (fresh even while a group
    /// is idle), the span exporter's counts, and the build info.
    static func installCollectHooks(
        metrics: BusMetrics, tracer: Tracer,
        lagReports: @escaping @Sendable () -> [GroupKey: QueueLag]
    ) {
        metrics.buildInfo.labels(SightlineVersion.current).set(1)

        metrics.registry.addCollectHook {
            for (key, lag) in lagReports() {
                metrics.consumerLagMessages.labels(key.channel, key.group).set(
                    Double(lag.waiting))
                metrics.consumerLagSeconds.labels(key.channel, key.group).set(
                    lag.oldestAge.seconds)
                metrics.queueDepth.labels(key.channel, key.group).set(
                    Double(lag.waiting - lag.inFlight))
                metrics.queueCapacity.labels(key.channel, key.group).set(Double(lag.capacity))
            }
        }

        // The tracer's counts are cumulative; counters advance by what changed since the
        // previous scrape.
        let previous = Mutex(TracerStatistics())
        metrics.registry.addCollectHook {
            let now = tracer.statistics
            let before = previous.withLock { stored in
                defer { stored = now }
                return stored
            }
            metrics.exporterSpansExported.labels().increment(
                by: max(0, now.exported - before.exported))
            metrics.exporterSpansDropped.labels().increment(
                by: max(0, now.dropped - before.dropped))
            metrics.exporterSpansFailed.labels().increment(by: max(0, now.failed - before.failed))
            metrics.exporterSpansRejected.labels().increment(
                by: max(0, now.rejected - before.rejected))
            metrics.exporterQueueLength.labels().set(Double(now.queueLength))
            metrics.exporterProducerWaits.labels().increment(
                by: max(0, now.throttled - before.throttled))
            metrics.exporterProducerWaitTimeouts.labels().increment(
                by: max(0, now.throttleTimeouts - before.throttleTimeouts))
        }
    }
}
