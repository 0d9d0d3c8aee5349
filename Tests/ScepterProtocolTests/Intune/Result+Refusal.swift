import ScepterTesting
import ScepterProtocol

extension Result where Failure == Refusal {
    /// The refusal, or nil when the challenge was accepted.
    var refusal: Refusal? {
        if case .failure(let refusal) = self { return refusal }
        return nil
    }
}
