extension Bus {
    /// The bus's transport, so that tests can inject redeliveries and duplicates.
    public var transportForTesting: any Transport { transport }

    /// The span link a redrive adds for `letter`.
    public static func redriveLinkForTesting(_ letter: DeadLetter) -> SpanLink? {
        redriveLink(from: letter)
    }
}
