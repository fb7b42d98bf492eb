import BatonCore

/// Tells one running action to stop, possibly more than once: a polite cancel may be followed by
/// a fence that must kill at once. Runners wait for "the next reason after the ones I have seen".
public struct StopSignal: Sendable {
    private let broadcast = Broadcast<StopReason>()

    public init() {}

    /// Every reason sent so far, oldest first.
    public var reasons: [StopReason] { broadcast.values }

    public func send(_ reason: StopReason) { broadcast.publish(reason) }

    /// The first reason after the first `seen` ones; nil if the calling task is cancelled first.
    public func next(after seen: Int) async -> StopReason? { await broadcast.next(after: seen) }
}
