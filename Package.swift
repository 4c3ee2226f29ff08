// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Sightline",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Sightline", targets: ["Sightline"]),
        .library(name: "SightlineTestKit", targets: ["SightlineTestKit"]),
        .library(name: "SightlineOTLP", targets: ["SightlineOTLP"]),
        .library(name: "SightlinePrometheus", targets: ["SightlinePrometheus"]),
        .library(name: "SightlineNATS", targets: ["SightlineNATS"]),
        .library(name: "SightlinePolicyYAML", targets: ["SightlinePolicyYAML"]),
        .library(name: "SightlineSQLite", targets: ["SightlineSQLite"]),
        .executable(name: "sightline", targets: ["sightline"]),
    ],
    targets: [
        // The core: pure Swift, Foundation and Synchronization only.
        .target(name: "Sightline"),
        // Test doubles a service can use in its own tests (a manual clock, a span exporter).
        .target(name: "SightlineTestKit", dependencies: ["Sightline"]),

        // Gzip for HTTP bodies, shared by the OTLP exporter and the /metrics server.
        .target(name: "CSightlineGzip", linkerSettings: [.linkedLibrary("z")]),
        // Protobuf-c code generated from proto/ by scripts/generate-otlp (committed).
        .target(name: "COTLPProto", linkerSettings: [.linkedLibrary("protobuf-c")]),
        // Non-variadic wrappers around libcurl's easy interface.
        .target(name: "CSightlineCurl", linkerSettings: [.linkedLibrary("curl")]),
        // libmicrohttpd behind a non-variadic C shim, for the /metrics server.
        .target(name: "CMicroHTTPD", linkerSettings: [.linkedLibrary("microhttpd")]),
        // The NATS C client (cnats 3.x), for the JetStream transport.
        .systemLibrary(name: "CNATS", pkgConfig: "libnats", providers: [.apt(["libnats-dev"])]),
        // libyaml, for back-pressure policy files.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),

        // SQLite (Debian libsqlite3-dev) for the durable stores.
        .systemLibrary(
            name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        // The OTLP/HTTP (binary protobuf) span exporter.
        .target(
            name: "SightlineOTLP",
            dependencies: ["Sightline", "COTLPProto", "CSightlineCurl", "CSightlineGzip"]),
        // Prometheus and OpenMetrics exposition, process metrics and the /metrics server.
        .target(
            name: "SightlinePrometheus",
            dependencies: ["Sightline", "CMicroHTTPD", "CSightlineGzip"]),
        // The NATS JetStream transport and dead-letter store.
        .target(name: "SightlineNATS", dependencies: ["Sightline", "CNATS"]),
        // Reads back-pressure policy files (YAML) into the core's policy model and reloads
        // them when they change.
        .target(name: "SightlinePolicyYAML", dependencies: ["Sightline", "CYAML"]),

        // Outbox, inbox and durable dead letters on SQLite.
        .target(name: "SightlineSQLite", dependencies: ["Sightline", "CSQLite"]),

        // The order workflow on the CDNOW purchase log that `sightline demo` runs.
        .target(
            name: "SightlineDemo",
            dependencies: ["Sightline", "SightlineSQLite", "SightlinePolicyYAML"]),
        // The command: demo, bench and operator tools.
        .executableTarget(
            name: "sightline",
            dependencies: [
                "Sightline", "SightlineDemo", "SightlineOTLP", "SightlinePrometheus",
                "SightlineNATS", "CNATS", "SightlinePolicyYAML",
                "SightlineSQLite",
            ]),

        .testTarget(name: "SightlineTests", dependencies: ["Sightline", "SightlineTestKit"]),
        .testTarget(name: "SightlineDemoTests", dependencies: ["SightlineDemo", "Sightline"]),
        .testTarget(
            name: "SightlineOTLPTests",
            dependencies: ["SightlineOTLP", "Sightline", "COTLPProto", "CSightlineGzip"]),
        .testTarget(
            name: "SightlineSQLiteTests",
            dependencies: ["SightlineSQLite", "Sightline", "SightlineTestKit", "CSQLite"]),
        .testTarget(
            name: "SightlinePrometheusTests",
            dependencies: [
                "SightlinePrometheus", "Sightline", "SightlineTestKit", "CSightlineGzip",
            ]),
        .testTarget(
            name: "SightlinePolicyYAMLTests", dependencies: ["SightlinePolicyYAML", "Sightline"]),
        .testTarget(
            name: "SightlineNATSTests",
            dependencies: [
                "SightlineNATS", "Sightline", "SightlineTestKit", "SightlineDemo", "CNATS",
            ]),
    ],
    swiftLanguageModes: [.v6]
)
