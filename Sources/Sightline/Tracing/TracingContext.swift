/// The span context that new spans in this task are children of.
///
/// The bus sets it while a handler runs (to the processing span), so that messages the
/// handler publishes continue the trace. A service sets it around its own work with
/// `TracingContext.$current.withValue(context) { … }` to make a publish part of a trace it
/// started elsewhere.
public enum TracingContext {
    @TaskLocal public static var current: SpanContext?
}
