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

        // Outbox, inbox and durable dead letters on SQLite.
        .target(name: "SightlineSQLite", dependencies: ["Sightline", "CSQLite"]),

        // The order workflow on the CDNOW purchase log that `sightline demo` runs.
        .target(name: "SightlineDemo", dependencies: ["Sightline", "SightlineSQLite"]),
        // The command: demo, bench and operator tools.
        .executableTarget(
            name: "sightline",
            dependencies: [
                "Sightline", "SightlineDemo", "SightlineOTLP", "SightlinePrometheus",
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
    ],
    swiftLanguageModes: [.v6]
)
