extension Settings {
    /// `name` as an Intune mode, case-insensitive; `off` when unset. nil
    /// (and a problem naming the variable) for any other value.
    package mutating func intuneMode(_ name: String) -> IntuneMode? {
        guard let text = string(name) else { return .off }
        if let mode = IntuneMode(rawValue: text.lowercased()) { return mode }
        problem(name, "\"\(text)\" is not one of \(IntuneMode.allCases.map(\.rawValue).joined(separator: ", "))")
        return nil
    }
}
