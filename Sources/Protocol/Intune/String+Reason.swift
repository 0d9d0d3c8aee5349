extension String {
    /// This value quoted for an operator-facing reason: escaped, and cut at `limit` scalars.
    ///
    /// Reasons end up in logs and audit rows, and these values come from
    /// devices or challenges, so they must not inject line breaks or grow
    /// without bound.
    func quotedForReason(limit: Int = 96) -> String {
        let scalars = self.unicodeScalars
        guard scalars.count > limit else { return self.debugDescription }
        var cut = String.UnicodeScalarView()
        cut.append(contentsOf: scalars.prefix(limit))
        return String(cut).debugDescription + "…"
    }
}

extension Array where Element == String {
    /// These values quoted for a reason, at most `limit` of them, then a count of the rest.
    func quotedForReason(limit: Int = 8) -> String {
        let shown = self.prefix(limit).map { $0.quotedForReason() }.joined(separator: ", ")
        let rest = self.count - Swift.min(self.count, limit)
        return rest > 0 ? "[\(shown), and \(rest) more]" : "[\(shown)]"
    }
}
