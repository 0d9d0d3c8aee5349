import Foundation

/// Every environment variable Scepter reads, in one catalog, and the review
/// of an environment against it: a `SCEPTER_*` variable no role reads (a
/// misspelling, or a variable of a profile or issuer that is not listed) is
/// reported instead of silently ignored.
///
/// The catalog covers every role at once: a ConfigMap shared by edge and
/// control carries the other role's variables, and those are not unknown.
/// `Tests/ScepterProtocolTests/KnownVariablesTests.swift` keeps it equal to
/// the tables of docs/configuration.md, and
/// `Tests/ScepterEmbeddedTests/KnownVariablesReadTests.swift` to what the
/// loaders actually ask `Settings` for.
package enum KnownVariables {
    /// One setting: a whole name (`SCEPTER_PUBLIC_URL`), or the suffix of a
    /// per-profile (`SCEPTER_PROFILE_<NAME>_<SUFFIX>`) or per-issuer
    /// (`SCEPTER_ISSUER_<NAME>_<SUFFIX>`) family.
    package struct Setting: Sendable, Hashable {
        package enum Family: Sendable, Hashable {
            case global, profile, issuer
        }

        package var family: Family
        /// The whole name for `.global`; the part after `<NAME>_` otherwise.
        package var name: String
        /// Whether `<variable>_FILE` is read too: true for everything read
        /// through `Settings.string` and `Settings.secret`.
        package var acceptsFile: Bool
        /// Whether it decides who gets a certificate, what the certificate
        /// holds or whom Scepter trusts (Intune, challenges, certificate
        /// policy, CAs and RAs, TLS, tokens). A misspelling near one of these
        /// refuses the start; near anything else it is a warning.
        package var guardsSecurity: Bool

        init(_ family: Family, _ name: String, guards: Bool, file: Bool = true) {
            self.family = family
            self.name = name
            self.acceptsFile = file
            self.guardsSecurity = guards
        }
    }

    package static let profilePrefix = "SCEPTER_PROFILE_"
    package static let issuerPrefix = "SCEPTER_ISSUER_"

    /// The variables that are not per profile or per issuer.
    package static let globals: [Setting] = [
        .init(.global, "SCEPTER_PROFILES", guards: false),
        // Unread, profiles without ISSUER fall back to the development CA in scepter dev.
        .init(.global, "SCEPTER_ISSUERS", guards: true),
        .init(.global, "SCEPTER_PUBLIC_URL", guards: false),
        .init(.global, "SCEPTER_OCSP_SIGNER", guards: false),
        .init(.global, "SCEPTER_ADMIN_TOKENS", guards: true),
        .init(.global, "SCEPTER_VIEWER_TOKENS", guards: true),
        .init(.global, "SCEPTER_EDGE_TOKEN", guards: true),
        .init(.global, "SCEPTER_EDGE_TOKENS", guards: true),
        .init(.global, "SCEPTER_EDGE_PROFILES", guards: true),
        .init(.global, "SCEPTER_EDGE_LISTEN", guards: false),
        .init(.global, "SCEPTER_CONTROL_LISTEN", guards: false),
        .init(.global, "SCEPTER_EDGE_INTERNAL_LISTEN", guards: false),
        .init(.global, "SCEPTER_CONTROL_INTERNAL_LISTEN", guards: false),
        .init(.global, "SCEPTER_CONTROL_URL", guards: false),
        .init(.global, "SCEPTER_EDGE_ID", guards: false),
        .init(.global, "SCEPTER_CONTROL_ID", guards: false),
        .init(.global, "SCEPTER_REDIS_URL", guards: false),
        .init(.global, "SCEPTER_DATABASE_URL", guards: false),
        .init(.global, "SCEPTER_REDIS_CA_PATH", guards: true),
        .init(.global, "SCEPTER_EDGE_TLS_CERT_PATH", guards: true),
        .init(.global, "SCEPTER_EDGE_TLS_KEY_PATH", guards: true),
        .init(.global, "SCEPTER_CONTROL_TLS_CERT_PATH", guards: true),
        .init(.global, "SCEPTER_CONTROL_TLS_KEY_PATH", guards: true),
        .init(.global, "SCEPTER_CONTROL_CLIENT_CA_PATH", guards: true),
        .init(.global, "SCEPTER_CONTROL_CA_PATH", guards: true),
        .init(.global, "SCEPTER_EDGE_CLIENT_CERT_PATH", guards: true),
        .init(.global, "SCEPTER_EDGE_CLIENT_KEY_PATH", guards: true),
        .init(.global, "SCEPTER_EDGE_WAIT_BUDGET", guards: false),
        .init(.global, "SCEPTER_EDGE_CONTROL_CONNECTIONS", guards: false),
        .init(.global, "SCEPTER_SHUTDOWN_GRACE", guards: false),
        .init(.global, "SCEPTER_TRUSTED_PROXIES", guards: false),
        .init(.global, "SCEPTER_SOURCE_RATE_LIMIT", guards: false),
        .init(.global, "SCEPTER_REQUEST_TIMEOUT", guards: false),
        .init(.global, "SCEPTER_MAX_CONNECTIONS", guards: false),
        .init(.global, "SCEPTER_TASK_EXECUTOR", guards: false),
        .init(.global, "SCEPTER_AUDIT_RETENTION", guards: false),
        // Read before Settings can report a file it cannot read: no _FILE.
        .init(.global, "SCEPTER_LOG_LEVEL", guards: false, file: false),
        .init(.global, "SCEPTER_LOG_FORMAT", guards: false),
        .init(.global, "SCEPTER_INTUNE_REVOCATION_INTERVAL", guards: true),
        .init(.global, "SCEPTER_INTUNE_BREAKER_THRESHOLD", guards: true),
        .init(.global, "SCEPTER_INTUNE_BREAKER_COOLDOWN", guards: true),
    ]

    /// `SCEPTER_PROFILE_<NAME>_<SUFFIX>`: the edge's and the control plane's side of each profile.
    package static let profileSuffixes: [Setting] = [
        .init(.profile, "ISSUER", guards: true),
        .init(.profile, "CHALLENGE_PASSWORD", guards: true),
        .init(.profile, "RA_CERT_PATH", guards: true),
        .init(.profile, "RA_KEY_PATH", guards: true),
        .init(.profile, "CERT_VALIDITY", guards: true),
        .init(.profile, "MAX_VALIDITY", guards: true),
        .init(.profile, "ALLOWED_EKUS", guards: true),
        .init(.profile, "MIN_RSA_BITS", guards: true),
        .init(.profile, "KEY_USAGE", guards: true),
        .init(.profile, "ALLOWED_SAN_TYPES", guards: true),
        // Bounds how often a certificate renews; unread, the default (3) applies.
        .init(.profile, "RENEWAL_LIMIT", guards: false),
        .init(.profile, "INTUNE_MODE", guards: true),
        .init(.profile, "INTUNE_CONNECTOR_CERT_PATH", guards: true),
        .init(.profile, "INTUNE_AUDIENCE", guards: true),
        .init(.profile, "INTUNE_CHALLENGE_VALIDITY", guards: true),
        .init(.profile, "INTUNE_CLOCK_SKEW", guards: true),
        .init(.profile, "INTUNE_RATE_LIMIT", guards: true),
        .init(.profile, "INTUNE_COMPLIANCE_URL", guards: true),
        .init(.profile, "INTUNE_COMPLIANCE_SECRET", guards: true),
        .init(.profile, "INTUNE_COMPLIANCE_TIMEOUT", guards: true),
        .init(.profile, "INTUNE_TENANT_ID", guards: true),
        .init(.profile, "INTUNE_CLIENT_ID", guards: true),
        .init(.profile, "INTUNE_CLIENT_SECRET", guards: true),
        .init(.profile, "INTUNE_CLIENT_CERT_PATH", guards: true),
        .init(.profile, "INTUNE_CLIENT_KEY_PATH", guards: true),
        .init(.profile, "INTUNE_LOGIN_URL", guards: true),
        .init(.profile, "INTUNE_GRAPH_URL", guards: true),
        .init(.profile, "INTUNE_RESOURCE_URL", guards: true),
        .init(.profile, "INTUNE_TIMEOUT", guards: true),
    ]

    /// `SCEPTER_ISSUER_<NAME>_<SUFFIX>`: a CA the control plane signs with.
    package static let issuerSuffixes: [Setting] = [
        .init(.issuer, "TYPE", guards: true),
        .init(.issuer, "CA_CERT_PATH", guards: true),
        .init(.issuer, "CA_KEY_PATH", guards: true),
        .init(.issuer, "CHAIN_PATH", guards: true),
        .init(.issuer, "NEXT_CA_CERT_PATH", guards: true),
    ]

    /// `SCEPTER_*` variables that are not Scepter's settings but tools' around
    /// it, which put them into the environment of the `scepter` processes
    /// they start (or share an environment file with them). Neither warned
    /// about nor refused.
    package static let foreignVariables: Set<String> = [
        "SCEPTER_SERVICES_DIR",  // scripts/services: where the test PostgreSQL and Redis live
        "SCEPTER_BINARY",  // Tests/Deploy/run.sh: the scepter it runs
        "SCEPTER_URL", "SCEPTER_ADMIN_TOKEN", "SCEPTER_VIEWER_TOKEN",  // Tests/OpenAPI/check.sh: the server it calls, and as whom
        "SCEPTER_FUZZ",  // Package.swift, scripts/fuzz: adds the fuzz targets
        "SCEPTER_CODEC_BENCHMARKS",  // Benchmarks/Package.swift
        "SCEPTER_LB_BIND", "SCEPTER_CONTROL",  // deploy/haproxy/haproxy.cfg (with SCEPTER_EDGE_<n>, below)
    ]

    /// Prefixes of such tools' variables.
    package static let foreignPrefixes: [String] = [
        "SCEPTER_TEST_",  // scripts/services and the test suites: SCEPTER_TEST_DATABASE_URL, SCEPTER_TEST_REDIS_URL, …
        "SCEPTER_BENCH_",  // scripts/bench and Benchmarks/
    ]

    /// Whether `variable` belongs to a tool around Scepter (`foreignVariables`,
    /// `foreignPrefixes`, HAProxy's `SCEPTER_EDGE_<n>`).
    package static func isForeign(_ variable: String) -> Bool {
        if foreignVariables.contains(variable) || foreignPrefixes.contains(where: variable.hasPrefix) { return true }
        let edge = "SCEPTER_EDGE_"
        return variable.hasPrefix(edge) && variable.count > edge.count && variable.dropFirst(edge.count).allSatisfy(\.isASCIIDigit)
    }

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

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
