import Foundation
import Sightline
import Synchronization

/// The outbox relay's metrics, registered on a ``MetricsRegistry`` (the bus's, so that one
/// scrape shows both):
///
/// - `sightline_outbox_depth`: staged messages not yet published;
/// - `sightline_outbox_oldest_unsent_age_seconds`: how long the oldest of them has waited
///   (0 when none waits), computed at scrape time;
/// - `sightline_outbox_published_total`: messages the relay published (its rate is the
///   relay's publish rate);
/// - `sightline_outbox_publish_failures_total`: publish attempts that failed.
///
/// Depth and age are as of the relay's last pass, which follows every commit that staged
/// messages.
public final class OutboxMetrics: Sendable {
    let depth: Gauge
    let oldestAge: Gauge
    let published: Counter
    let failures: Counter
    private let oldestStagedAt = Mutex<Double?>(nil)

    /// - Throws: ``MetricsRegistrationError`` when a family of the same name is registered
    ///   with another type or labels.
    public init(registry: MetricsRegistry, clock: any BusClock = SystemClock()) throws {
        depth = try registry.gauge(
            name: "sightline_outbox_depth",
            help: "Messages staged in the transactional outbox and not yet published."
        ).labels()
        oldestAge = try registry.gauge(
            name: "sightline_outbox_oldest_unsent_age_seconds",
            help: "Seconds the oldest unpublished outbox message has waited; 0 when none."
        ).labels()
        published = try registry.counter(
            name: "sightline_outbox_published_total",
            help: "Outbox messages the relay published."
        ).labels()
        failures = try registry.counter(
            name: "sightline_outbox_publish_failures_total",
            help: "Outbox publish attempts that failed and will be retried."
        ).labels()

        registry.addCollectHook { [weak self] in
            self?.refreshAge(now: clock.wallTime())
        }
    }

    private func refreshAge(now: Date) {
        let oldest = oldestStagedAt.withLock { $0 }
        let age = oldest.map { now.timeIntervalSince1970 - $0 } ?? 0
        oldestAge.set(max(0, age))
    }

    /// Sets depth and the oldest unsent message's staging time from the relay's last look.
    func update(depth count: Int, oldestStagedAt: Double?) {
        depth.set(Double(count))
        self.oldestStagedAt.withLock { $0 = oldestStagedAt }
    }
}
