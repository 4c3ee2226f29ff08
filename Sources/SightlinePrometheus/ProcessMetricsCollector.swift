import Foundation
import Sightline

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the standard `process_*` metrics of the running process from `/proc/self`.
///
/// Linux only: on a system without `/proc` the families whose source is missing are left
/// out. Reading costs a few small file reads per scrape.
public struct ProcessMetricsCollector: Sendable {
    private let procRoot: String

    /// - Parameter procRoot: the proc file system's mount point; tests may point it at a
    ///   directory holding `self/stat` and `stat` files.
    public init(procRoot: String = "/proc") {
        self.procRoot = procRoot
    }

    /// The process families: CPU seconds, resident and virtual memory, open and maximum file
    /// descriptors, and start time.
    public func collect() -> [MetricFamilySnapshot] {
        var families: [MetricFamilySnapshot] = []

        if let stat = readStat() {
            families.append(
                Self.family(
                    "process_cpu_seconds_total", "Total user and system CPU time in seconds.",
                    .counter, stat.cpuSeconds))
            families.append(
                Self.family(
                    "process_virtual_memory_bytes", "Virtual memory size in bytes.", .gauge,
                    stat.virtualBytes))
            families.append(
                Self.family(
                    "process_resident_memory_bytes", "Resident memory size in bytes.", .gauge,
                    stat.residentBytes))
            if let bootTime = readBootTime() {
                families.append(
                    Self.family(
                        "process_start_time_seconds",
                        "Start time of the process since the Unix epoch in seconds.", .gauge,
                        bootTime + stat.startSecondsAfterBoot))
            }
        }

        if let open = countOpenDescriptors() {
            families.append(
                Self.family(
                    "process_open_fds", "Number of open file descriptors.", .gauge, open))
        }
        if let limit = maximumDescriptors() {
            families.append(
                Self.family(
                    "process_max_fds", "Maximum number of open file descriptors.", .gauge, limit))
        }
        return families
    }

    private static func family(
        _ name: String, _ help: String, _ type: MetricType, _ value: Double
    ) -> MetricFamilySnapshot {
        MetricFamilySnapshot(
            name: name, help: help, type: type, labelNames: [],
            series: [MetricSeriesSnapshot(labelValues: [], value: .scalar(value))])
    }

    // MARK: - /proc readers

    struct Stat {
        var cpuSeconds: Double
        var virtualBytes: Double
        var residentBytes: Double
        var startSecondsAfterBoot: Double
    }

    private func readStat() -> Stat? {
        guard let text = Self.read(procRoot + "/self/stat") else { return nil }

        return Self.parseStat(
            text, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))),
            pageSize: Double(sysconf(Int32(_SC_PAGESIZE))))
    }

    /// Parses `/proc/[pid]/stat` (proc(5)). The command name (field 2) may contain spaces and
    /// parentheses, so fields are counted from the last `)`.
    static func parseStat(_ text: String, ticksPerSecond: Double, pageSize: Double) -> Stat? {
        guard let close = text.lastIndex(of: ")"), ticksPerSecond > 0 else { return nil }

        // After ")": field 3 (state) is index 0, so field n is index n - 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        func field(_ number: Int) -> Double? {
            let index = number - 3
            return index < fields.count ? Double(fields[index]) : nil
        }
        guard let userTicks = field(14), let systemTicks = field(15),
            let startTicks = field(22), let virtualBytes = field(23), let residentPages = field(24)
        else { return nil }

        return Stat(
            cpuSeconds: (userTicks + systemTicks) / ticksPerSecond,
            virtualBytes: virtualBytes,
            residentBytes: residentPages * pageSize,
            startSecondsAfterBoot: startTicks / ticksPerSecond)
    }

    private func readBootTime() -> Double? {
        guard let text = Self.read(procRoot + "/stat") else { return nil }

        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst("btime ".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    private func countOpenDescriptors() -> Double? {
        let entries = try? FileManager.default.contentsOfDirectory(atPath: procRoot + "/self/fd")
        return entries.map { Double($0.count) }
    }

    private func maximumDescriptors() -> Double? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }

        return limit.rlim_cur == rlim_t.max ? .infinity : Double(limit.rlim_cur)
    }

    private static func read(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }

        guard let data = try? handle.readToEnd() else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
