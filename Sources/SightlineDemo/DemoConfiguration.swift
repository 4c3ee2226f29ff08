import Sightline

/// The demo's settings, as the `sightline demo` flags set them.
public struct DemoConfiguration: Sendable {
    /// The purchase log to replay.
    public var ordersPath: String
    /// Replay at most this many purchases.
    public var limit: Int?
    /// Simulated seconds per real second; 0 replays as fast as the bus takes messages.
    /// The default turns the 18 months of the log into about 12 seconds.
    public var speedup: Double = 4_000_000
    /// The share of handler attempts that fail with a transient error.
    public var failureRate: Double = 0.02
    /// The back-pressure policy of the demo's bus; nil runs without a controller.
    public var backPressurePolicy: BackPressurePolicy? = DemoBackPressure.standardPolicy
    /// The file `backPressurePolicy` came from; when set, the policy reloads when the file
    /// changes or the process gets SIGHUP, and a bad file leaves the previous policy.
    public var policyFile: String?
    /// How long the reporting consumer takes per insight.
    public var insightServiceTime: Duration = .microseconds(80)
    /// Seeds the failure injection and the retry jitter.
    public var seed: UInt64 = 1997
    /// Orders from this day (`yyyymmdd`) on are published as `OrderPlaced` version 2;
    /// earlier ones as version 1, which subscribers upcast.
    public var versionTwoFrom: Int = 19_970_401
    /// The share of orders followed by a deliberately unreadable copy (a future schema
    /// version), which every order group dead-letters as `unknown_version`. Default 0.
    public var unreadableShare: Double = 0
    /// Where messages travel; nil: the in-memory transport (see DemoDistribution.swift).
    public var engine: DemoEngine?

    public init(ordersPath: String) {
        self.ordersPath = ordersPath
    }
}

/// The subscriber groups of the demo.
public enum DemoGroup: String, CaseIterable, Sendable, Codable {
    case billing
    case shipping
    case analytics
    /// The handler of the `ReserveCredit` command billing sends.
    case credit
}
