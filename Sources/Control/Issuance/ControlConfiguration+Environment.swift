import Foundation
import SwiftASN1
import X509
import ScepterProtocol

extension ControlConfiguration {
    /// The control plane's side of each profile in `profileNames`; see `load`.
    package static func loadProfiles(
        _ settings: inout Settings, profileNames: [String], fallbackIssuer: (issuer: LocalCA, nextCA: [UInt8]?)? = nil
    ) -> [Profile] {
        load(&settings, profileNames: profileNames, fallbackIssuer: fallbackIssuer).profiles
    }

    /// Reads issuers (`SCEPTER_ISSUERS`, `SCEPTER_ISSUER_<NAME>_*`) and the
    /// control plane's side of each profile in `profileNames` (SPEC §9).
    /// `fallbackIssuer` serves profiles without `ISSUER` (embedded mode's dev
    /// CA, with the CA that replaces it, if any: `loadNextCA(of:_:)`).
    /// `issuers` holds every issuer listed, those no profile uses included:
    /// a CA retired by a rollover still answers for its certificates' CRL
    /// and OCSP until they expire.
    package static func load(
        _ settings: inout Settings, profileNames: [String], fallbackIssuer: (issuer: LocalCA, nextCA: [UInt8]?)? = nil
    ) -> (profiles: [Profile], issuers: [LocalCA]) {
        var issuers: [String: LocalCA] = [:]
        var nextCAs: [String: [UInt8]] = [:]
        for rawName in settings.list("SCEPTER_ISSUERS") {
            let name = rawName.lowercased()
            guard Settings.isValidName(name) else {
                settings.problem("SCEPTER_ISSUERS", "\"\(rawName)\" is not a valid issuer name (letters, digits and dashes)")
                continue
            }
            if let issuer = loadIssuer(name, &settings) {
                issuers[name] = issuer
                nextCAs[name] = loadNextCA(of: issuer, &settings)
            }
        }

        var profiles: [Profile] = []
        for name in profileNames {
            let prefix = "SCEPTER_PROFILE_\(Settings.variableName(name))_"
            let issuer: LocalCA?
            var nextCA: [UInt8]?
            if let issuerName = settings.string(prefix + "ISSUER")?.lowercased() {
                issuer = issuers[issuerName]
                nextCA = nextCAs[issuerName]
                if issuer == nil {
                    let known = issuers.keys.sorted().joined(separator: ", ")
                    settings.problem(prefix + "ISSUER", "issuer \"\(issuerName)\" is not in SCEPTER_ISSUERS (\(known.isEmpty ? "none configured" : known))")
                }
            } else if issuers.count == 1, let (name, only) = issuers.first {
                (issuer, nextCA) = (only, nextCAs[name])
            } else if let fallbackIssuer {
                (issuer, nextCA) = fallbackIssuer
            } else {
                settings.problem(prefix + "ISSUER", "is required (which issuer signs this profile's certificates)")
                issuer = nil
            }
            let policy = loadPolicy(prefix: prefix, &settings)
            var intuneAPI: IntuneAPISettings?
            if settings.intuneMode(prefix + "INTUNE_MODE") == .intuneAPI {
                intuneAPI = IntuneAPISettings.load(prefix: prefix, &settings)
            } else {
                for variable in ["INTUNE_TENANT_ID", "INTUNE_CLIENT_ID", "INTUNE_CLIENT_SECRET", "INTUNE_CLIENT_CERT_PATH"]
                where settings.string(prefix + variable) != nil || settings.environment[prefix + variable + "_FILE"] != nil {
                    settings.problem(prefix + variable, "is set but \(prefix)INTUNE_MODE is not intune-api; set INTUNE_MODE=intune-api or remove it")
                }
            }
            if let issuer {
                profiles.append(Profile(name: name, issuer: issuer, policy: policy, nextCA: nextCA, intuneAPI: intuneAPI))
            }
        }
        checkSharedAppRegistrations(profiles, &settings)
        return (profiles, issuers.keys.sorted().compactMap { issuers[$0] })
    }

    /// Profiles naming one app registration share one Intune client (one
    /// token cache, breaker and revocation download), so they must agree on
    /// how it authenticates and how long it waits.
    private static func checkSharedAppRegistrations(_ profiles: [Profile], _ settings: inout Settings) {
        var first: [String: (name: String, settings: IntuneAPISettings)] = [:]
        for profile in profiles {
            guard let intune = profile.intuneAPI else { continue }
            guard let (earlier, shared) = first[intune.clientKey] else {
                first[intune.clientKey] = (profile.name, intune)
                continue
            }
            let prefix = "SCEPTER_PROFILE_\(Settings.variableName(profile.name))_"
            if !intune.credential.isSame(as: shared.credential) {
                let variable = if case .secret = intune.credential { "INTUNE_CLIENT_SECRET" } else { "INTUNE_CLIENT_CERT_PATH" }
                settings.problem(
                    prefix + variable,
                    "profile \(profile.name) uses the same app registration as profile \(earlier) with another credential; give both the same")
            }
            if intune.timeout != shared.timeout {
                settings.problem(prefix + "INTUNE_TIMEOUT", "profile \(profile.name) shares profile \(earlier)'s app registration; use the same INTUNE_TIMEOUT")
            }
        }
    }

    private static func loadIssuer(_ name: String, _ settings: inout Settings) -> LocalCA? {
        let prefix = "SCEPTER_ISSUER_\(Settings.variableName(name))_"
        let type = (settings.string(prefix + "TYPE") ?? "local").lowercased()
        guard type == "local" else {
            settings.problem(prefix + "TYPE", "\"\(type)\" is not a supported issuer type (supported: local)")
            return nil
        }
        guard let certificatePath = settings.required(prefix + "CA_CERT_PATH", "the CA certificate PEM"),
            let keyPath = settings.required(prefix + "CA_KEY_PATH", "the CA private key PEM, mode 0600")
        else { return nil }
        let chainPath = settings.string(prefix + "CHAIN_PATH")
        do throws(SecretFiles.Problem) {
            let certificate = try SecretFiles.readPublic(at: certificatePath, setting: prefix + "CA_CERT_PATH")
            let key = try SecretFiles.readSecret(at: keyPath, setting: prefix + "CA_KEY_PATH")
            var chain: String?
            if let chainPath { chain = try SecretFiles.readPublic(at: chainPath, setting: prefix + "CHAIN_PATH") }
            // What `scepter ca ra` checks, at every start: keyUsage for certificates and CRLs, a chain that chains.
            do throws(PKIBootstrap.Problem) {
                _ = try PKIBootstrap.checkIssuingCA(
                    PKIBootstrap.Pair(certificatePEM: certificate, keyPEM: key), certificateName: certificatePath, keyName: keyPath, now: nil)
            } catch {
                settings.problem(prefix + "CA_CERT_PATH", "issuer \(name) refused: \(error)")
                return nil
            }
            if let chain, let chainPath {
                do throws(PKIBootstrap.Problem) {
                    try PKIBootstrap.checkChain(chain, above: certificate, chainName: chainPath)
                } catch {
                    settings.problem(prefix + "CHAIN_PATH", "issuer \(name) refused: \(error)")
                    return nil
                }
            }
            do {
                return try LocalCA(name: name, certificatePEM: certificate, keyPEM: key, chainPEM: chain)
            } catch {
                settings.problem(prefix + "CA_CERT_PATH", "issuer \(name) refused: \(error.reason)")
            }
        } catch {
            settings.problem(error.setting, error.message)
        }
        return nil
    }

    /// `SCEPTER_ISSUER_<NAME>_NEXT_CA_CERT_PATH`: the CA certificate that
    /// will replace this issuer's, announced by GetNextCACert to every
    /// profile it signs for (RFC 8894 §3.5.2), so clients can trust it before
    /// the switch. A CA certificate, not the current one, not expired.
    package static func loadNextCA(of issuer: LocalCA, _ settings: inout Settings) -> [UInt8]? {
        let variable = "SCEPTER_ISSUER_\(Settings.variableName(issuer.name))_NEXT_CA_CERT_PATH"
        guard let path = settings.string(variable) else { return nil }
        let pem: String
        do throws(SecretFiles.Problem) {
            pem = try SecretFiles.readPublic(at: path, setting: variable)
        } catch {
            settings.problem(error.setting, error.message)
            return nil
        }
        guard let next = try? Certificate(pemEncoded: pem), let der = try? next.derBytes else {
            settings.problem(variable, "\(path) does not hold a PEM certificate")
            return nil
        }
        if der == issuer.certificateDER {
            settings.problem(variable, "\(path) is issuer \(issuer.name)'s current CA certificate; name the CA that replaces it")
        } else if (try? next.extensions.basicConstraints).flatMap({ $0 }).map({ if case .isCertificateAuthority = $0 { true } else { false } }) != true {
            settings.problem(variable, "\(path) is not a CA certificate (its basicConstraints do not say CA:TRUE)")
        } else if next.notValidAfter <= Date() {
            settings.problem(variable, "\(path) expired on \(next.notValidAfter); a rollover needs a CA that is still valid")
        } else {
            return der
        }
        return nil
    }

    private static func loadPolicy(prefix: String, _ settings: inout Settings) -> CertificateProfile {
        var policy = CertificateProfile()
        policy.validity = settings.duration(prefix + "CERT_VALIDITY", default: policy.validity)
        policy.maxValidity = settings.optionalDuration(prefix + "MAX_VALIDITY")
        policy.minRSABits = settings.integer(prefix + "MIN_RSA_BITS", default: 2048, minimum: CertificationRequest.minimumRSABits)
        let ekuNames = settings.list(prefix + "ALLOWED_EKUS")
        if !ekuNames.isEmpty {
            var usages: [ExtendedKeyUsage.Usage] = []
            for name in ekuNames {
                if let usage = CertificateProfile.extendedKeyUsage(named: name) {
                    usages.append(usage)
                } else {
                    settings.problem(
                        prefix + "ALLOWED_EKUS",
                        "\"\(name)\" is not an EKU name (clientAuth, serverAuth, codeSigning, emailProtection, timeStamping, ocspSigning, any) or a dotted OID")
                }
            }
            policy.allowedEKUs = usages
        }
        let keyUsageNames = settings.list(prefix + "KEY_USAGE")
        if !keyUsageNames.isEmpty {
            var bits = Set<CertificateProfile.KeyUsageBit>()
            for name in keyUsageNames {
                if let bit = CertificateProfile.KeyUsageBit(named: name) {
                    bits.insert(bit)
                } else {
                    let known = CertificateProfile.KeyUsageBit.allCases.map(\.rawValue).joined(separator: ", ")
                    settings.problem(prefix + "KEY_USAGE", "\"\(name)\" is not a key usage (\(known))")
                }
            }
            policy.keyUsage = bits
        }
        return policy
    }
}

extension Settings {
    /// `SCEPTER_PUBLIC_URL`: an http(s) URL without query or fragment.
    package mutating func publicURL() -> String? {
        guard let value = string("SCEPTER_PUBLIC_URL") else { return nil }
        guard let url = URL(string: value), ["http", "https"].contains(url.scheme ?? ""), url.host != nil, url.query == nil, url.fragment == nil
        else {
            problem("SCEPTER_PUBLIC_URL", "\"\(value)\" is not an http:// or https:// base URL (e.g. https://pki.example.com)")
            return nil
        }
        return value
    }
}

extension Settings {
    /// `SCEPTER_OCSP_SIGNER`: `delegated` (default) or `ca`.
    /// `SCEPTER_OCSP_SIGNER`. With `ca`, each issuer's CA signs OCSP answers
    /// itself, which a CA whose keyUsage lacks digitalSignature may not do:
    /// strict relying parties would reject every answer.
    package mutating func ocspSigner(for issuers: [LocalCA]) -> OCSPResponder.SignerMode {
        guard let value = string("SCEPTER_OCSP_SIGNER")?.lowercased() else { return .delegated }
        guard let mode = OCSPResponder.SignerMode(rawValue: value) else {
            problem("SCEPTER_OCSP_SIGNER", "\"\(value)\" is not one of delegated, ca")
            return .delegated
        }
        if mode == .ca {
            for issuer in issuers.sorted(by: { $0.name < $1.name }) {
                guard let usage = (try? issuer.certificate.extensions.keyUsage) ?? nil, !usage.digitalSignature else { continue }
                problem(
                    "SCEPTER_OCSP_SIGNER",
                    "is ca, but issuer \(issuer.name)'s CA certificate lacks keyUsage digitalSignature, so relying parties would reject the OCSP answers it signs; use delegated (the default)")
            }
        }
        return mode
    }
}
