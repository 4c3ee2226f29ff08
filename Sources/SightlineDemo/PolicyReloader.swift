import Dispatch
import Foundation
import Sightline
import SightlinePolicyYAML

/// Keeps a running controller on the policy file's latest good version: the file is
/// checked every second and at once on SIGHUP. A bad file is logged with its file, line,
/// field and reason, and the previous policy stays in force.
final class PolicyReloader {
    private let watcher: PolicyWatcher
    private let hangUp: any DispatchSourceSignal

    init(path: String, controller: BackPressureController, logger: Logger) {
        let watcher = PolicyWatcher(path: path, controller: controller, logger: logger)
        self.watcher = watcher

        // The file was just loaded; this first check records its stamp.
        _ = watcher.check()
        watcher.start(interval: .seconds(1))

        // SIGHUP's default action ends the process; a dispatch source takes it instead and
        // checks the file on a dispatch thread, away from the cooperative pool.
        signal(SIGHUP, SIG_IGN)
        hangUp = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangUp.setEventHandler {
            if case .rejected = watcher.check() { return }
            logger.info("policy file checked after SIGHUP", [LogKey.setting: path])
        }
        hangUp.resume()
    }

    func stop() {
        hangUp.cancel()
        watcher.stop()
    }
}
