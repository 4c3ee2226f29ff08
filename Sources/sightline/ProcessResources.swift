import Foundation

/// What this process has used so far, read from the kernel: the benchmarks report peak
/// resident memory and CPU time next to their throughput.
enum ProcessResources {
    /// The most resident memory this process has held at any moment (`ru_maxrss`).
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        return usage.ru_maxrss * 1024
    }

    /// Resident memory now, from /proc/self/statm (pages times the page size).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else {
            return 0
        }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// User plus system CPU time of every thread of this process, in seconds.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        func seconds(_ time: timeval) -> Double {
            Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000
        }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Megabytes with one decimal, for tables.
    static func megabytes(_ bytes: Int) -> String {
        String(format: "%.1f MB", Double(bytes) / 1_048_576)
    }
}

/// A benchmark's results with the process's peak resident memory, for `--json`.
struct ResultsWithMemory<Result: Encodable>: Encodable {
    var results: [Result]
    var peakResidentBytes: Int

    enum CodingKeys: String, CodingKey {
        case results
        case peakResidentBytes = "peak_resident_bytes"
    }
}
