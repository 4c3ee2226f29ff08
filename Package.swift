// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Sightline",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Sightline", targets: ["Sightline"]),
        .library(name: "SightlineTestKit", targets: ["SightlineTestKit"]),
        .library(name: "SightlineOTLP", targets: ["SightlineOTLP"]),
        .executable(name: "sightline", targets: ["sightline"]),
    ],
    targets: [
        // The core: pure Swift, Foundation and Synchronization only.
        .target(name: "Sightline"),
        // Test doubles a service can use in its own tests (a manual clock).
        .target(name: "SightlineTestKit", dependencies: ["Sightline"]),
        // Gzip for HTTP bodies, shared by the OTLP exporter and the /metrics server.
        .target(name: "CSightlineGzip", linkerSettings: [.linkedLibrary("z")]),
        // Protobuf-c code generated from proto/ by scripts/generate-otlp (committed).
        .target(name: "COTLPProto", linkerSettings: [.linkedLibrary("protobuf-c")]),
        // Non-variadic wrappers around libcurl's easy interface.
        .target(name: "CSightlineCurl", linkerSettings: [.linkedLibrary("curl")]),
        // The OTLP/HTTP (binary protobuf) span exporter.
        .target(
            name: "SightlineOTLP",
            dependencies: ["Sightline", "COTLPProto", "CSightlineCurl", "CSightlineGzip"]
        ),
        // The command: demo, bench and operator tools.
        .executableTarget(name: "sightline", dependencies: ["Sightline", "SightlineOTLP"]),
        .testTarget(name: "SightlineTests", dependencies: ["Sightline", "SightlineTestKit"]),
        .testTarget(
            name: "SightlineOTLPTests",
            dependencies: ["SightlineOTLP", "Sightline", "COTLPProto", "CSightlineGzip"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
