extension LogKey {
    /// The metric family a log line is about.
    public static let metric = "sightline.metric"
}
