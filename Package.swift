// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Sightline",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Sightline", targets: ["Sightline"]),
        .library(name: "SightlineTestKit", targets: ["SightlineTestKit"]),
        .library(name: "SightlineNATS", targets: ["SightlineNATS"]),
        .executable(name: "sightline", targets: ["sightline"]),
    ],
    targets: [
        // The core: pure Swift, Foundation and Synchronization only.
        .target(name: "Sightline"),
        // Test doubles a service can use in its own tests (a manual clock).
        .target(name: "SightlineTestKit", dependencies: ["Sightline"]),
        // Gzip for HTTP bodies, shared by the OTLP exporter and the /metrics server.
        .target(name: "CSightlineGzip", linkerSettings: [.linkedLibrary("z")]),
        // The NATS C client (cnats 3.x), for the JetStream transport.
        .systemLibrary(
            name: "CNATS", pkgConfig: "libnats", providers: [.apt(["libnats-dev"])]),
        // The NATS JetStream transport and dead-letter store.
        .target(name: "SightlineNATS", dependencies: ["Sightline", "CNATS"]),
        // The command: demo, bench and operator tools.
        // The order workflow on the CDNOW purchase log that `sightline demo` runs.
        .target(name: "SightlineDemo", dependencies: ["Sightline"]),
        .executableTarget(
            name: "sightline",
            dependencies: ["Sightline", "SightlineDemo", "SightlineNATS", "CNATS"]),
        .testTarget(name: "SightlineTests", dependencies: ["Sightline", "SightlineTestKit"]),
        .testTarget(
            name: "SightlineNATSTests",
            dependencies: [
                "SightlineNATS", "Sightline", "SightlineTestKit", "SightlineDemo", "CNATS",
            ]),
        .testTarget(name: "SightlineDemoTests", dependencies: ["SightlineDemo", "Sightline"]),
    ],
    swiftLanguageModes: [.v6]
)
