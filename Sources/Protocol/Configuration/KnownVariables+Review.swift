import Foundation

/// The review of an environment against the catalog (KnownVariables.swift):
/// a `SCEPTER_*` variable no role reads is a warning, one near a security
/// setting that is not set beside it refuses the start.
extension KnownVariables {
    /// Which command reviews its environment: `scepter dev` has the
    /// development CA `dev`, whose `NEXT_CA_CERT_PATH` it reads unlisted,
    /// and a built-in profile `default` that reads no variables.
    package enum Role: Sendable {
        case edge, control, dev
    }

    /// What a review found: problems refuse the start (`ConfigurationError`),
    /// warnings are logged at start and printed by `--check`.
    package struct Review: Sendable {
        package var problems: [ConfigurationProblem] = []
        package var warnings: [ConfigurationProblem] = []
    }

    /// One reading of a variable name as a catalog variable.
    package enum Match: Equatable {
        case global(Setting)
        /// `name` is the `<NAME>` part, as written in the variable.
        case profile(name: String, Setting)
        case issuer(name: String, Setting)
    }

    /// Reviews every `SCEPTER_*` variable of `environment` (names compared
    /// case-insensitively for the prefix, exactly for the rest, as Settings
    /// reads them) against the catalog and the profiles and issuers it lists.
    package static func review(_ environment: [String: String], role: Role) -> Review {
        var settings = Settings(environment: environment)
        let profiles = listedNames(settings.list("SCEPTER_PROFILES"))
        let issuers = listedNames(settings.list("SCEPTER_ISSUERS"))
        var review = Review()
        for variable in environment.keys.sorted() where variable.uppercased().hasPrefix("SCEPTER_") && !isForeign(variable) {
            let matches = Self.matches(variable)
            let read = matches.contains { match in
                switch match {
                case .global: true
                case .profile(let name, _): profiles.contains(name)
                case .issuer(let name, let setting): issuers.contains(name) || (role == .dev && name == "DEV" && setting.name == "NEXT_CA_CERT_PATH")
                }
            }
            if read { continue }
            switch matches.first {
            case .global:
                continue
            case .profile(let name, _):
                review.warnings.append(unlisted(variable, kind: "profile", name: name, listed: profiles, role: role))
            case .issuer(let name, _):
                review.warnings.append(unlisted(variable, kind: "issuer", name: name, listed: issuers, role: role))
            case nil:
                let base = variable.hasSuffix("_FILE") ? String(variable.dropLast(5)) : nil
                let unfiled = base.flatMap { Self.matches($0).first }.map { match -> (variable: String, setting: Setting) in
                    switch match {
                    case .global(let setting), .profile(_, let setting), .issuer(_, let setting): (base ?? variable, setting)
                    }
                }
                let near = unfiled ?? nearest(to: variable, profiles: profiles, issuers: issuers)
                let serviceLink = looksLikeServiceLink(variable)
                var message = "is not a setting Scepter reads"
                if let unfiled {
                    message += ": \(unfiled.variable) has no _FILE variant"
                } else if let near {
                    message += "; did you mean \(near.variable)?"
                }
                if serviceLink { message += " (it looks like a Kubernetes service link: set enableServiceLinks: false on the pod)" }
                let problem = ConfigurationProblem(variable, message)
                // A typo that takes the place of a security setting fails open; one beside the
                // setting itself (a newer release's name, after a rollback) does not.
                let meantIsSet = near.map { environment[$0.variable] != nil || environment[$0.variable + "_FILE"] != nil } ?? false
                if near?.setting.guardsSecurity == true && !serviceLink && !meantIsSet {
                    review.problems.append(problem)
                } else {
                    review.warnings.append(problem)
                }
            }
        }
        return review
    }

    /// The catalog variables `variable` can be, the longest suffix first: a
    /// per-profile or per-issuer name can end in two suffixes
    /// (`SCEPTER_ISSUER_MAIN_NEXT_CA_CERT_PATH`: issuer main's
    /// `NEXT_CA_CERT_PATH`, or issuer main-next's `CA_CERT_PATH`).
    package static func matches(_ variable: String) -> [Match] {
        if let setting = globals.first(where: { $0.name == variable || ($0.acceptsFile && $0.name + "_FILE" == variable) }) {
            return [.global(setting)]
        }
        for (prefix, suffixes) in [(profilePrefix, profileSuffixes), (issuerPrefix, issuerSuffixes)] where variable.hasPrefix(prefix) {
            let rest = String(variable.dropFirst(prefix.count))
            var found: [(match: Match, length: Int)] = []
            for setting in suffixes {
                for (tail, allowed) in [(setting.name, true), (setting.name + "_FILE", setting.acceptsFile)] where allowed {
                    guard rest.hasSuffix("_" + tail) else { continue }
                    let name = String(rest.dropLast(tail.count + 1))
                    guard isVariableName(name) else { continue }
                    found.append((prefix == profilePrefix ? .profile(name: name, setting) : .issuer(name: name, setting), tail.count))
                }
            }
            return found.sorted { $0.length > $1.length }.map(\.match)
        }
        return []
    }

    /// Every whole variable name of the catalog for these profiles and
    /// issuers (the `<NAME>` parts), `_FILE` variants included; the globals too unless `globals` is false.
    static func variables(
        profiles: some Sequence<String>, issuers: some Sequence<String>, globals includeGlobals: Bool = true
    ) -> [(variable: String, setting: Setting)] {
        func withFile(_ variable: String, _ setting: Setting) -> [(String, Setting)] {
            setting.acceptsFile ? [(variable, setting), (variable + "_FILE", setting)] : [(variable, setting)]
        }
        var all = includeGlobals ? globals.flatMap { withFile($0.name, $0) } : []
        for name in profiles { all += profileSuffixes.flatMap { withFile(profilePrefix + name + "_" + $0.name, $0) } }
        for name in issuers { all += issuerSuffixes.flatMap { withFile(issuerPrefix + name + "_" + $0.name, $0) } }
        return all
    }

    /// The catalog variable nearest `variable`: equal but for case or
    /// underscores, or at most two letters apart (a change, an insertion,
    /// a deletion or two neighbours swapped each count one). Per-profile and
    /// per-issuer names are tried with every listed name first, then with
    /// each name `variable` itself could hold.
    static func nearest(to variable: String, profiles: Set<String>, issuers: Set<String>) -> (variable: String, setting: Setting)? {
        let upper = variable.uppercased()
        if let near = nearest(to: upper, among: variables(profiles: profiles.sorted(), issuers: issuers.sorted())) { return near }
        var profileNames: Set<String> = []
        var issuerNames: Set<String> = []
        for prefix in [profilePrefix, issuerPrefix] where upper.hasPrefix(prefix) {
            let parts = upper.dropFirst(prefix.count).split(separator: "_", omittingEmptySubsequences: false)
            for count in 1..<max(parts.count, 1) {
                let name = parts.prefix(count).joined(separator: "_")
                guard isVariableName(name) else { continue }
                if prefix == profilePrefix { profileNames.insert(name) } else { issuerNames.insert(name) }
            }
        }
        return nearest(to: upper, among: variables(profiles: profileNames.sorted(), issuers: issuerNames.sorted(), globals: false))
    }

    private static func nearest(to upper: String, among candidates: [(variable: String, setting: Setting)]) -> (variable: String, setting: Setting)? {
        let letters = Array(upper.utf8)
        let bare = letters.filter { $0 != UInt8(ascii: "_") }
        var best: (distance: Int, variable: String, setting: Setting)?
        for candidate in candidates {
            let other = Array(candidate.variable.utf8)
            let distance = other.filter({ $0 != UInt8(ascii: "_") }) == bare ? 0 : editDistance(letters, other, limit: min(best?.distance ?? 2, 2))
            guard distance <= 2, distance < (best?.distance ?? 3) else { continue }
            best = (distance, candidate.variable, candidate.setting)
        }
        return best.map { ($0.variable, $0.setting) }
    }

    /// Optimal string alignment distance, or `limit + 1` once it must exceed `limit`.
    static func editDistance(_ a: [UInt8], _ b: [UInt8], limit: Int) -> Int {
        if abs(a.count - b.count) > limit { return limit + 1 }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMinimum = current[0]
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { value = min(value, before[j - 2] + 1) }
                current[j] = value
                rowMinimum = min(rowMinimum, value)
            }
            if rowMinimum > limit { return limit + 1 }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }

    /// A variable of a profile or issuer this process does not list: no role reads it.
    static func unlisted(_ variable: String, kind: String, name: String, listed: Set<String>, role: Role) -> ConfigurationProblem {
        let list = kind == "profile" ? "SCEPTER_PROFILES" : "SCEPTER_ISSUERS"
        let lower = name.lowercased().replacingOccurrences(of: "_", with: "-")
        var message = "is not read: \(kind) \(lower) is not in \(list) (\(listed.isEmpty ? "none listed" : listed.sorted().map { $0.lowercased().replacingOccurrences(of: "_", with: "-") }.joined(separator: ", ")))"
        if role == .dev, kind == "profile", name == "DEFAULT" {
            message += "; scepter dev's built-in profile default takes no variables: list default in SCEPTER_PROFILES to replace it"
        } else if role == .dev, kind == "issuer", name == "DEV" {
            message += "; of the development CA's variables scepter dev reads only SCEPTER_ISSUER_DEV_NEXT_CA_CERT_PATH"
        }
        let prefix = kind == "profile" ? profilePrefix : issuerPrefix
        let tail = String(variable.dropFirst(prefix.count + name.count))
        // Short names are near everything: a and b are one letter apart.
        let limit = name.count >= 5 ? 2 : name.count >= 3 ? 1 : 0
        let near = listed.sorted().map { (name: $0, distance: editDistance(Array(name.utf8), Array($0.utf8), limit: limit)) }
            .filter { $0.distance <= limit && $0.name != name }.min { $0.distance < $1.distance }
        if let near { message += "; did you mean \(prefix)\(near.name)\(tail)?" }
        return ConfigurationProblem(variable, message)
    }

    /// The `<NAME>` parts of the valid names in a `SCEPTER_PROFILES` or `SCEPTER_ISSUERS` list.
    static func listedNames(_ names: [String]) -> Set<String> {
        Set(names.map { $0.lowercased() }.filter(Settings.isValidName).map(Settings.variableName))
    }

    /// Upper-case letters, digits and single underscores inside: what `Settings.variableName` makes of a valid name.
    static func isVariableName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix("_") && !name.hasSuffix("_") && !name.contains("__")
            && name.unicodeScalars.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// What the kubelet adds for a Service named `scepter-…` unless the pod
    /// sets `enableServiceLinks: false`: `…_SERVICE_HOST`, `…_SERVICE_PORT…`,
    /// `…_PORT`, `…_PORT_<port>_<protocol>…`.
    static func looksLikeServiceLink(_ variable: String) -> Bool {
        if variable.hasSuffix("_SERVICE_HOST") || variable.hasSuffix("_PORT") || variable.contains("_SERVICE_PORT") { return true }
        let parts = variable.split(separator: "_")
        guard let port = parts.firstIndex(of: "PORT"), port + 2 < parts.count else { return false }
        return parts[port + 1].allSatisfy(\.isASCIIDigit) && ["TCP", "UDP", "SCTP"].contains(parts[port + 2])
    }
}
