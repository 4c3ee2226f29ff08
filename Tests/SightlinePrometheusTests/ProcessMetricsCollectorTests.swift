import Sightline
import Testing

@testable import SightlinePrometheus

@Suite struct ProcessMetricsCollectorTests {
    @Test func parseStat_whenCommandHasSpacesAndParentheses_readsTheFields() throws {
        let stat =
            "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 "
            + "8 0 12000 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0"

        let parsed = try #require(
            ProcessMetricsCollector.parseStat(stat, ticksPerSecond: 100, pageSize: 4096))

        #expect(parsed.cpuSeconds == 3)
        #expect(parsed.startSecondsAfterBoot == 120)
        #expect(parsed.virtualBytes == 104_857_600)
        #expect(parsed.residentBytes == 10_485_760)
    }

    @Test func collect_onThisProcess_reportsEveryFamily() {
        let families = ProcessMetricsCollector().collect()

        #expect(
            families.map(\.name) == [
                "process_cpu_seconds_total", "process_virtual_memory_bytes",
                "process_resident_memory_bytes", "process_start_time_seconds",
                "process_open_fds", "process_max_fds",
            ])
        for family in families {
            guard case .scalar(let value)? = family.series.first?.value else {
                Issue.record("\(family.name) has no value")
                continue
            }
            #expect(value > 0, "\(family.name)")
        }
    }

    @Test func collect_whenProcIsMissing_reportsOnlyTheDescriptorLimit() {
        let families = ProcessMetricsCollector(procRoot: "/nonexistent-proc").collect()

        #expect(families.map(\.name) == ["process_max_fds"])
    }
}
