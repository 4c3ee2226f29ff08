import Foundation
import Sightline
import SightlinePolicyYAML
import Testing

@Suite struct PolicyWatcherTests {
    let directory: URL
    let path: String
    let controller: BackPressureController
    let sink = CollectingLogSink()

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sightline-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        path = directory.appendingPathComponent("policy.yaml").path
        controller = try BackPressureController()
    }

    func write(_ text: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    func makeWatcher() -> PolicyWatcher {
        PolicyWatcher(
            path: path, controller: controller, logger: Logger(sink: sink, minimumLevel: .debug))
    }

    @Test func check_afterGoodThenBadFile_keepsTheGoodPolicy() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let watcher = makeWatcher()
        try write("tick: 200ms\n")

        let first = watcher.check()
        try write("tick: 200ms\ncohorts: 0\n")
        let second = watcher.check()

        #expect(first == .reloaded(BackPressurePolicy(tick: .milliseconds(200))))
        #expect(
            second
                == .rejected(
                    PolicyFileError(
                        file: path, line: 2, field: "cohorts",
                        reason: "must be from 1 to 1024 (got 0)")))
        #expect(watcher.current == BackPressurePolicy(tick: .milliseconds(200)))
        #expect(controller.policy.tick == .milliseconds(200))
        #expect(controller.policy.cohorts == 16)
        let warning = sink.collected.last { $0.level == .warning }
        #expect(warning?.message == "policy file refused; the previous policy stays in force")
        #expect(
            warning?.metadata[LogKey.error] == "\(path):2: cohorts: must be from 1 to 1024 (got 0)")
    }

    @Test func check_withoutChange_reportsUnchanged() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let watcher = makeWatcher()
        try write("tick: 300ms\n")

        _ = watcher.check()
        let again = watcher.check()

        #expect(again == .unchanged)
    }

    @Test func check_afterBadFileIsFixed_reloads() throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let watcher = makeWatcher()
        try write("tick: slow\n")
        _ = watcher.check()
        #expect(watcher.lastError?.field == "tick")

        try write("tick: 250ms\n")
        let outcome = watcher.check()

        #expect(outcome == .reloaded(BackPressurePolicy(tick: .milliseconds(250))))
        #expect(watcher.lastError == nil)
        #expect(controller.policy.tick == .milliseconds(250))
    }

    @Test func start_onItsThread_picksUpAChange() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let watcher = makeWatcher()
        try write("tick: 100ms\n")
        watcher.start(interval: .milliseconds(20))
        defer { watcher.stop() }

        try write("tick: 400ms\ncohorts: 8\n")
        var reloaded = false
        for _ in 0..<200 where !reloaded {
            try await Task.sleep(for: .milliseconds(10))
            reloaded = controller.policy.tick == .milliseconds(400)
        }

        #expect(reloaded)
        #expect(controller.policy.cohorts == 8)
    }
}
