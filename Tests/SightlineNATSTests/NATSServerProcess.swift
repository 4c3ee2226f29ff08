import Foundation

/// A `nats-server` with JetStream on a free loopback port and a temporary storage
/// directory, for one test. Stop it (or kill it) in every path; deinit kills it too.
final class NATSServerProcess: @unchecked Sendable {
    // Used from one test at a time; the process handle is not shared across tasks.
    private(set) var port: Int
    let storage: URL
    private var process: Process?
    private let extraArguments: [String]
    private let ownsStorage: Bool

    struct MissingTool: Error, CustomStringConvertible {
        var description: String {
            "nats-server is not installed (scripts/setup installs it); NATS tests cannot run"
        }
    }

    /// Starts a server; `storage` reuses a directory (a restart), `port` a port.
    init(port: Int? = nil, storage: URL? = nil, arguments: [String] = []) throws {
        self.port = try port ?? Self.freePort()
        if let storage {
            self.storage = storage
            self.ownsStorage = false
        } else {
            self.storage = FileManager.default.temporaryDirectory.appendingPathComponent(
                "sightline-nats-\(UUID().uuidString)")
            self.ownsStorage = true
        }
        self.extraArguments = arguments
        try FileManager.default.createDirectory(at: self.storage, withIntermediateDirectories: true)

        // A port found free can be taken by another test's server before this one binds it;
        // then this server exits, and a chosen port is tried again with a fresh one.
        var attempts = port == nil ? 5 : 1
        while true {
            do {
                try start()
                return
            } catch is PortTaken where attempts > 1 {
                attempts -= 1
                self.port = try Self.freePort()
            }
        }
    }

    struct PortTaken: Error, CustomStringConvertible {
        var port: Int
        var description: String { "nats-server exited at start: port \(port) is taken" }
    }

    deinit {
        kill()
        if ownsStorage { try? FileManager.default.removeItem(at: storage) }
    }

    var url: String { "nats://127.0.0.1:\(port)" }

    func start() throws {
        guard let binary = Self.binary() else { throw MissingTool() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments =
            ["-js", "-sd", storage.path, "-a", "127.0.0.1", "-p", String(port)] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        try waitUntilListening()
    }

    /// SIGKILL: no shutdown of any kind.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// SIGSTOP: the server keeps its connections open but answers nothing until `resume`.
    func pause() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGSTOP)
    }

    /// SIGCONT after `pause`.
    func resume() {
        guard let process else { return }
        Foundation.kill(process.processIdentifier, SIGCONT)
    }

    /// SIGTERM and wait.
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    private func waitUntilListening() throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard let process, process.isRunning else {
                self.process = nil
                throw PortTaken(port: port)
            }
            if Self.greetsAsNATS(port: port) { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw NSError(
            domain: "NATSServerProcess", code: 1,
            userInfo: [NSLocalizedDescriptionKey: "nats-server did not listen on \(port)"])
    }

    static func binary() -> String? {
        for path in ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return nil
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw NSError(domain: "NATSServerProcess", code: 2) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return connect(fd, port: port)
    }

    /// True when a NATS server answers on the port: it greets every client with `INFO`.
    static func greetsAsNATS(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, port: port) else { return false }
        var greeting = [UInt8](repeating: 0, count: 4)
        let count = recv(fd, &greeting, 4, Int32(MSG_WAITALL))
        return count == 4 && greeting == Array("INFO".utf8)
    }

    private static func connect(_ fd: Int32, port: Int) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
