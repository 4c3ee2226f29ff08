import Foundation

/// Paths inside the repository, found from this file's location.
enum RepositoryPaths {
    /// The package root: three folders above Tests/SightlinePrometheusTests/Support.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()

    static func file(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }
}
