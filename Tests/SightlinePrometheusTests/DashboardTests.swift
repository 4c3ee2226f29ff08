import Foundation
import Sightline
import Testing

/// Checks the committed dashboard and alert rules: promtool validates and unit-tests the
/// rules, and every metric the PromQL expressions name must be one the bus registers.
@Suite struct DashboardTests {
    static let dashboardPath = "dashboards/sightline.json"
    static let alertsPath = "dashboards/alerts.yml"
    static let alertsTestPath = "dashboards/alerts_test.yml"

    /// The names a scrape of a service using BusMetrics can contain.
    static let knownMetricNames: Set<String> = {
        let registry = MetricsRegistry()
        _ = try? BusMetrics(registry: registry)
        var names: Set<String> = ["up"]
        for family in registry.collect() {
            names.insert(family.name)
            if family.type == .histogram {
                for suffix in ["_bucket", "_sum", "_count"] { names.insert(family.name + suffix) }
            }
        }
        return names
    }()

    @Test func promtool_checksTheAlertRules() async throws {
        let result = try await ChildProcess.run(
            "promtool", ["check", "rules", RepositoryPaths.file(Self.alertsPath).path])

        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("SUCCESS: 5 rules found"))
    }

    @Test func promtool_unitTestsTheAlertRules() async throws {
        let result = try await ChildProcess.run(
            "promtool", ["test", "rules", RepositoryPaths.file(Self.alertsTestPath).path])

        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("SUCCESS"))
    }

    @Test func dashboard_namesOnlyMetricsTheBusRegisters() throws {
        let expressions = try dashboardExpressions()
        #expect(expressions.count >= 25)

        let used = Set(expressions.flatMap(PromQLNames.metricNames(in:)))
        let unknown = used.filter {
            !Self.knownMetricNames.contains($0) && !$0.hasPrefix("process_")
        }

        #expect(unknown.isEmpty, "unknown metrics: \(unknown.sorted())")
        #expect(used.contains("messaging_process_duration_seconds_bucket"))
        #expect(used.contains("sightline_dead_letter_depth"))
        #expect(used.contains("sightline_consumer_lag_seconds"))
    }

    @Test func alertRules_nameOnlyMetricsTheBusRegisters() throws {
        let text = try String(contentsOf: RepositoryPaths.file(Self.alertsPath), encoding: .utf8)
        let names = Set(
            PromQLNames.metricNames(
                in: text.components(separatedBy: "expr:")
                    .dropFirst().map { $0.components(separatedBy: "for:")[0] }.joined(
                        separator: "\n")))

        #expect(
            names == [
                "sightline_dead_lettered_total", "sightline_consumer_lag_seconds",
                "sightline_shed_total", "sightline_exporter_spans_dropped_total", "up",
            ])
        #expect(names.isSubset(of: Self.knownMetricNames))
    }

    @Test func dashboard_hasTheVariablesAndAnExemplarHeatmap() throws {
        let dashboard = try loadDashboard()
        let variables = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]]
        let kinds = variables?.map { "\($0["name"] ?? "")=\($0["type"] ?? "")" }
        #expect(
            kinds == [
                "datasource=datasource", "tracing=datasource", "channel=query", "group=query",
            ])
        #expect(variables?.first?["query"] as? String == "prometheus")

        let panels = dashboard["panels"] as? [[String: Any]] ?? []
        let heatmap = panels.first { $0["type"] as? String == "heatmap" }
        let target = (heatmap?["targets"] as? [[String: Any]])?.first
        #expect(target?["exemplar"] as? Bool == true)
        let links =
            ((heatmap?["fieldConfig"] as? [String: Any])?["defaults"] as? [String: Any])?[
                "links"] as? [[String: Any]]
        #expect((links?.first?["url"] as? String)?.contains("${tracing}") == true)
    }

    private func loadDashboard() throws -> [String: Any] {
        let data = try Data(contentsOf: RepositoryPaths.file(Self.dashboardPath))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Every `expr` of every panel, and the variables' `label_values(...)` queries.
    func dashboardExpressions() throws -> [String] {
        var found: [String] = []
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                for (key, child) in object {
                    if key == "expr" || key == "definition", let text = child as? String {
                        found.append(text)
                    } else {
                        walk(child)
                    }
                }
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(try loadDashboard())
        return found
    }
}

/// Pulls metric names out of PromQL, well enough for the expressions we write: it drops
/// strings, label matchers, ranges, grouping clauses and Grafana variables, then keeps the
/// identifiers that are not functions, keywords or numbers.
enum PromQLNames {
    private static let keywords: Set<String> = [
        "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
        "offset", "bool", "le",
    ]

    static func metricNames(in expression: String) -> [String] {
        var text = expression
        for pattern in [
            #""[^"]*""#, #"\{[^}]*\}"#, #"\[[^\]]*\]"#, #"\b(by|without|on|ignoring)\s*\([^)]*\)"#,
            #"\$\{?[A-Za-z_][A-Za-z0-9_.]*\}?"#, #"label_values\(\s*"#,
        ] {
            text = text.replacingOccurrences(
                of: pattern, with: pattern.hasPrefix("label") ? "" : " ",
                options: .regularExpression)
        }
        // label_values(metric, label): drop the trailing label argument.
        text = text.replacingOccurrences(
            of: #",\s*[A-Za-z_][A-Za-z0-9_]*\s*\)"#, with: " ", options: .regularExpression)

        var names: [String] = []
        let regex = try! NSRegularExpression(
            pattern: #"(?<![A-Za-z0-9_:.])[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?"#)
        let range = NSRange(text.startIndex..., in: text)
        for match in regex.matches(in: text, range: range) {
            guard let tokenRange = Range(match.range, in: text) else { continue }
            let token = String(text[tokenRange])
            if token.hasSuffix("(") { continue }
            let name = token.trimmingCharacters(in: .whitespaces)
            if keywords.contains(name) || name == "humanize" { continue }
            names.append(name)
        }
        return names
    }
}

@Suite struct PromQLNamesTests {
    @Test func metricNames_skipsFunctionsLabelsRangesAndVariables() {
        let names = PromQLNames.metricNames(
            in: #"histogram_quantile(0.95, sum by (le, priority) "#
                + #"(rate(foo_seconds_bucket{channel=~"$channel"}[$__rate_interval]))) > 0 "#
                + #"and on (job) bar_total offset 5m"#)

        #expect(names == ["foo_seconds_bucket", "bar_total"])
    }

    @Test func metricNames_readsLabelValuesQueries() {
        let names = PromQLNames.metricNames(
            in: #"label_values(sightline_messages_delivered_total{channel=~"$channel"}, group)"#)

        #expect(names == ["sightline_messages_delivered_total"])
    }
}
