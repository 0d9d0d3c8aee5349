import Foundation

/// Every environment variable Scepter reads, in one catalog; the review of
/// an environment against it is in KnownVariables+Review.swift: a
/// `SCEPTER_*` variable no role reads (a misspelling, or a variable of a
/// profile or issuer that is not listed) is reported instead of silently
/// ignored.
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
        .init(.profile, "RA_ENCRYPTION_CERT_PATH", guards: true),
        .init(.profile, "RA_ENCRYPTION_KEY_PATH", guards: true),
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
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
