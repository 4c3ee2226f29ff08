import Foundation
import Sightline
import Synchronization

/// Reloads a policy file when it changes, keeping the last good policy when the new text
/// is bad.
///
/// ``check()`` compares the file's modification time and size with the last look and,
/// when they changed, reads and parses it: a good policy goes to `onReload`, a bad one is
/// logged at warning and changes nothing. ``start(interval:)`` runs `check()` on a thread
/// of its own (file reads never run on the cooperative pool) until ``stop()``.
public final class PolicyWatcher: Sendable {
    /// What one check found.
    public enum Outcome: Hashable, Sendable {
        /// The file did not change since the last check.
        case unchanged
        /// A changed file gave a valid policy, now in force.
        case reloaded(BackPressurePolicy)
        /// A changed (or unreadable) file was refused; the previous policy stays.
        case rejected(PolicyFileError)
    }

    private struct Stamp: Equatable {
        var modified: Date?
        var size: Int?
    }

    private struct State {
        var stamp: Stamp?
        var current: BackPressurePolicy?
        var lastError: PolicyFileError?
        var running = false
    }

    public let path: String
    private let logger: Logger
    private let onReload: @Sendable (BackPressurePolicy) -> Void
    private let state = Mutex(State())

    /// - Parameter onReload: called with each newly valid policy, on the checking thread.
    public init(
        path: String, logger: Logger = .standardError,
        onReload: @escaping @Sendable (BackPressurePolicy) -> Void
    ) {
        self.path = path
        self.logger = logger.withComponent("sightline.policy")
        self.onReload = onReload
    }

    /// A watcher that hands each good policy to `controller`.
    public convenience init(
        path: String, controller: BackPressureController, logger: Logger = .standardError
    ) {
        self.init(path: path, logger: logger) { policy in
            // Validated once by the file parser already; a refusal here is logged by the
            // controller itself.
            try? controller.update(policy: policy)
        }
    }

    /// The last policy read successfully; nil before the first good read.
    public var current: BackPressurePolicy? { state.withLock { $0.current } }

    /// The error of the last refused read; nil once a good read follows.
    public var lastError: PolicyFileError? { state.withLock { $0.lastError } }

    /// Looks at the file once, reloading it when it changed. Blocks on file I/O: call it
    /// from a thread, or from tests.
    @discardableResult
    public func check() -> Outcome {
        let stamp = Self.stamp(of: path)
        let changed = state.withLock { state -> Bool in
            guard state.stamp != stamp else { return false }
            state.stamp = stamp
            return true
        }
        guard changed else { return .unchanged }

        do {
            let policy = try PolicyFile.load(path: path)
            state.withLock { state in
                state.current = policy
                state.lastError = nil
            }
            logger.info("policy loaded", [LogKey.setting: path])
            onReload(policy)
            return .reloaded(policy)
        } catch {
            state.withLock { $0.lastError = error }
            logger.warning(
                "policy file refused; the previous policy stays in force",
                [LogKey.setting: path, LogKey.error: error.description])
            return .rejected(error)
        }
    }

    /// Checks now, then every `interval` on a dedicated thread until ``stop()``.
    public func start(interval: Duration = .seconds(1)) {
        let isNew = state.withLock { state -> Bool in
            guard !state.running else { return false }
            state.running = true
            return true
        }
        guard isNew else { return }

        let thread = Thread { [self] in
            while state.withLock({ $0.running }) {
                check()
                // Sleep in short slices so that stop() takes effect promptly.
                var slept = Duration.zero
                while slept < interval, state.withLock({ $0.running }) {
                    let slice = min(.milliseconds(50), interval - slept)
                    Thread.sleep(forTimeInterval: slice.seconds)
                    slept += slice
                }
            }
        }
        thread.name = "sightline.policy-watcher"
        thread.start()
    }

    /// Stops the checking thread within about 50 ms.
    public func stop() {
        state.withLock { $0.running = false }
    }

    private static func stamp(of path: String) -> Stamp {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return Stamp(
            modified: attributes?[.modificationDate] as? Date,
            size: (attributes?[.size] as? NSNumber)?.intValue)
    }
}
