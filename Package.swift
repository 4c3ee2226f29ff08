// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Sightline",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Sightline", targets: ["Sightline"]),
        .library(name: "SightlineTestKit", targets: ["SightlineTestKit"]),
        .library(name: "SightlinePolicyYAML", targets: ["SightlinePolicyYAML"]),
        .executable(name: "sightline", targets: ["sightline"]),
    ],
    targets: [
        // The core: pure Swift, Foundation and Synchronization only.
        .target(name: "Sightline"),
        // Test doubles a service can use in its own tests (a manual clock).
        .target(name: "SightlineTestKit", dependencies: ["Sightline"]),
        // Gzip for HTTP bodies, shared by the OTLP exporter and the /metrics server.
        .target(name: "CSightlineGzip", linkerSettings: [.linkedLibrary("z")]),
        // libyaml, for back-pressure policy files.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // Reads back-pressure policy files (YAML) into the core's policy model and reloads
        // them when they change.
        .target(name: "SightlinePolicyYAML", dependencies: ["Sightline", "CYAML"]),
        // The command: demo, bench and operator tools.
        // The order workflow on the CDNOW purchase log that `sightline demo` runs.
        .target(name: "SightlineDemo", dependencies: ["Sightline"]),
        .executableTarget(
            name: "sightline", dependencies: ["Sightline", "SightlineDemo", "SightlinePolicyYAML"]),
        .testTarget(name: "SightlineTests", dependencies: ["Sightline", "SightlineTestKit"]),
        .testTarget(name: "SightlineDemoTests", dependencies: ["SightlineDemo", "Sightline"]),
        .testTarget(
            name: "SightlinePolicyYAMLTests", dependencies: ["SightlinePolicyYAML", "Sightline"]),
    ],
    swiftLanguageModes: [.v6]
)
