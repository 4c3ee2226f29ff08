/// The library's version, reported in `sightline_build_info` and as the instrumentation
/// scope version of every span.
public enum SightlineVersion {
    public static let current = "0.1.0"
}
