import Foundation
import Sightline
import SightlinePrometheus
import Testing

@Suite struct ExpositionRendererTests {
    let families: [MetricFamilySnapshot]

    init() throws {
        families = try ExpositionFixture.makeRegistry().collect()
    }

    @Test func render_prometheusText_matchesTheGoldenText() {
        let text = ExpositionRenderer(format: .prometheusText).renderString(families)

        #expect(text == ExpositionFixture.prometheusText)
    }

    @Test func render_openMetrics_matchesTheGoldenText() {
        let text = ExpositionRenderer(format: .openMetrics).renderString(families)

        #expect(text == ExpositionFixture.openMetrics)
    }

    @Test func render_whenNoFamilies_writesOnlyEOFInOpenMetrics() {
        #expect(ExpositionRenderer(format: .openMetrics).renderString([]) == "# EOF\n")
        #expect(ExpositionRenderer(format: .prometheusText).renderString([]) == "")
    }

    @Test func render_writesLargeAndFractionalNumbersInRoundTripForm() {
        let family = MetricFamilySnapshot(
            name: "g", help: "h", type: .gauge, labelNames: ["v"],
            series: [
                MetricSeriesSnapshot(labelValues: ["a"], value: .scalar(-7)),
                MetricSeriesSnapshot(labelValues: ["b"], value: .scalar(1e20)),
                MetricSeriesSnapshot(labelValues: ["c"], value: .scalar(0.000_01)),
                MetricSeriesSnapshot(labelValues: ["d"], value: .scalar(0)),
            ])

        let text = ExpositionRenderer(format: .prometheusText).renderString([family])

        #expect(
            text == """
                # HELP g h
                # TYPE g gauge
                g{v="a"} -7
                g{v="b"} 1e+20
                g{v="c"} 1e-05
                g{v="d"} 0

                """)
    }

    @Test(
        arguments: [
            (nil, ExpositionFormat.prometheusText),
            ("text/plain", .prometheusText),
            ("application/openmetrics-text", .openMetrics),
            (
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                .openMetrics
            ),
            ("application/openmetrics-text; q=0, text/plain", .prometheusText),
            ("Application/OpenMetrics-Text", .openMetrics),
        ] as [(String?, ExpositionFormat)])
    func negotiate_picksTheFormatFromAccept(accept: String?, format: ExpositionFormat) {
        #expect(ExpositionFormat.negotiate(accept: accept) == format)
    }

    @Test func contentTypes_nameTheVersions() {
        #expect(
            ExpositionFormat.openMetrics.contentType
                == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        #expect(
            ExpositionFormat.prometheusText.contentType
                == "text/plain; version=0.0.4; charset=utf-8")
    }
}
