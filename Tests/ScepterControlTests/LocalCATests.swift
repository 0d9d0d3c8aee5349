import Crypto
import Foundation
import Synchronization
import SwiftASN1
import Testing
import X509
import _CryptoExtras
import ScepterProtocol
import ScepterTesting
@testable import ScepterControl

@Suite("LocalCA issues what the profile allows", .timeLimit(.minutes(5)))
struct LocalCATests {
    typealias DeviceKey = ControlFixtures.DeviceKey

    // MARK: Issuance

    @Test(
        "Subject and every SAN kind are copied; the certificate verifies with openssl",
        arguments: [TestPKI.KeyKind.rsa2048, .p256], [DeviceKey.rsa2048, .p256])
    func issuesWithSubjectAndSANs(caKey: TestPKI.KeyKind, deviceKey: DeviceKey) async throws {
        let caIdentity = try TestPKI.makeCA(commonName: "Scepter Test CA", key: caKey)
        let ca = try ControlFixtures.localCA(caIdentity)
        let key = try deviceKey.make()
        let request = try ControlFixtures.request(
            commonName: "device-1", dnsNames: ["device-1.example.com", "alt.example.com"], emails: ["alice@example.com"],
            upns: ["alice@corp.example.com"], uris: [ControlFixtures.sidURI, "https://device.example.com/id/1"], key: key)

        let certificate = try ca.issue(request, profile: CertificateProfile(), now: Date())

        #expect(certificate.subject == request.subject)
        #expect(certificate.issuer == caIdentity.certificate.subject)
        #expect(certificate.publicKey == key.publicKey)
        #expect(certificate.signatureAlgorithm == (caKey == .p256 ? .ecdsaWithSHA256 : .sha256WithRSAEncryption))
        #expect(caIdentity.certificate.publicKey.isValidSignature(certificate.signature, for: certificate))

        let names = Array(try #require(try certificate.extensions.subjectAlternativeNames))
        #expect(names.contains(.dnsName("device-1.example.com")))
        #expect(names.contains(.dnsName("alt.example.com")))
        #expect(names.contains(.rfc822Name("alice@example.com")))
        #expect(names.contains(.uniformResourceIdentifier(ControlFixtures.sidURI)))
        #expect(names.contains(.uniformResourceIdentifier("https://device.example.com/id/1")))
        let upns = names.compactMap { name -> String? in
            guard case .otherName(let other) = name, other.typeID == CertificationRequest.upnOID, let value = other.value
            else { return nil }
            return (try? ASN1UTF8String(asn1Any: value)).map(String.init)
        }
        #expect(upns == ["alice@corp.example.com"])
        let san = try #require(certificate.extensions[oid: .X509ExtensionID.subjectAlternativeName])
        #expect(!san.critical, "a certificate with a subject carries a non-critical SAN")

        let basicConstraints = try #require(certificate.extensions[oid: .X509ExtensionID.basicConstraints])
        #expect(basicConstraints.critical)
        #expect(try certificate.extensions.basicConstraints == .notCertificateAuthority)

        let keyUsage = try #require(try certificate.extensions.keyUsage)
        #expect(certificate.extensions[oid: .X509ExtensionID.keyUsage]?.critical == true)
        #expect(keyUsage.digitalSignature)
        #expect(keyUsage.keyEncipherment == (deviceKey == .rsa2048), "keyEncipherment only for RSA keys")
        #expect(!keyUsage.keyCertSign && !keyUsage.cRLSign)
        #expect(Array(try #require(try certificate.extensions.extendedKeyUsage)) == [.clientAuth])

        let caSKI = try #require(try caIdentity.certificate.extensions.subjectKeyIdentifier).keyIdentifier
        #expect(try certificate.extensions.authorityKeyIdentifier?.keyIdentifier == caSKI)
        let ski = try #require(try certificate.extensions.subjectKeyIdentifier).keyIdentifier
        #expect(ski == SubjectKeyIdentifier(hash: key.publicKey).keyIdentifier)

        let directory = try TemporaryDirectory()
        try directory.write(caIdentity.certificatePEM, to: "ca.pem")
        try directory.write(try ControlFixtures.pem(certificate), to: "leaf.pem")
        let verify = try await OpenSSLCommandLine.run(["verify", "-x509_strict", "-CAfile", "ca.pem", "leaf.pem"], in: directory)
        #expect(verify.succeeded, "\(verify)")
        #expect(verify.standardOutput.contains("leaf.pem: OK"), "\(verify)")

        let text = try await OpenSSLCommandLine.run(["x509", "-in", "leaf.pem", "-noout", "-ext", "subjectAltName"], in: directory)
        #expect(text.succeeded, "\(text)")
        for expected in [
            "DNS:device-1.example.com", "DNS:alt.example.com", "email:alice@example.com", "othername: UPN::alice@corp.example.com",
            "URI:\(ControlFixtures.sidURI)", "URI:https://device.example.com/id/1",
        ] {
            #expect(text.standardOutput.contains(expected), "openssl does not show \(expected): \(text.standardOutput)")
        }
    }

    @Test("A request with an empty subject gets a critical SAN (RFC 5280 §4.2.1.6)")
    func emptySubjectMakesSANCritical() async throws {
        let caIdentity = try TestPKI.makeCA()
        let ca = try ControlFixtures.localCA(caIdentity)
        let request = try ControlFixtures.request(
            commonName: nil, dnsNames: ["device-2.example.com"], key: try DeviceKey.p256.make())

        let certificate = try ca.issue(request, profile: CertificateProfile(), now: Date())

        #expect(certificate.subject.isEmpty)
        #expect(certificate.extensions[oid: .X509ExtensionID.subjectAlternativeName]?.critical == true)
        let directory = try TemporaryDirectory()
        try directory.write(caIdentity.certificatePEM, to: "ca.pem")
        try directory.write(try ControlFixtures.pem(certificate), to: "leaf.pem")
        let verify = try await OpenSSLCommandLine.run(["verify", "-x509_strict", "-CAfile", "ca.pem", "leaf.pem"], in: directory)
        #expect(verify.succeeded, "\(verify)")
    }

    @Test("A request without a SAN extension issues a certificate without one")
    func noSANRequested() throws {
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA(key: .p256))
        let request = try ControlFixtures.request(commonName: "plain", key: try DeviceKey.p256.make())
        let certificate = try ca.issue(request, profile: CertificateProfile(), now: Date())
        #expect(certificate.extensions[oid: .X509ExtensionID.subjectAlternativeName] == nil)
        #expect(certificate.subject == request.subject)
    }

    // MARK: Serial numbers

    @Test("Serials are positive, 16 octets, distinct, and at least 64 of their bits vary")
    func serialsAreRandomAndPositive() throws {
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA(key: .p256))
        let request = try ControlFixtures.request(key: try DeviceKey.p256.make())
        let now = Date()
        let serials = try (0..<200).map { _ in Array(try ca.issue(request, profile: CertificateProfile(), now: now).serialNumber.bytes) }

        #expect(Set(serials).count == serials.count, "serial numbers repeat")
        for serial in serials {
            #expect(serial.count == 16)
            #expect(serial[0] & 0x80 == 0, "serial \(serial) is negative")
            #expect(serial.contains { $0 != 0 })
        }
        // Each of 126 random bits takes both values across 200 serials unless the source is not random.
        var varying = 0
        for bit in 0..<(16 * 8) {
            let values = Set(serials.map { ($0[bit / 8] >> (7 - bit % 8)) & 1 })
            if values.count == 2 { varying += 1 }
        }
        #expect(varying >= 64, "only \(varying) serial bits vary")
    }

    @Test("The serial is the injected random bytes, sign bit cleared, never shortened", arguments: [UInt8(0x00), 0xFF, 0x80])
    func serialComesFromTheRandomSource(fill: UInt8) throws {
        let requested = Mutex<[Int]>([])
        let identity = try TestPKI.makeCA(key: .p256)
        let ca = try LocalCA(
            name: "corp-ca", certificatePEM: identity.certificatePEM, keyPEM: identity.keyPEM,
            randomBytes: { count in
                requested.withLock { $0.append(count) }
                return Array(repeating: fill, count: count)
            })
        let request = try ControlFixtures.request(key: try DeviceKey.p256.make())

        let serial = Array(try ca.issue(request, profile: CertificateProfile(), now: Date()).serialNumber.bytes)

        let counts = requested.withLock { $0 }
        #expect(counts.count == 1)
        #expect(counts.allSatisfy { $0 * 8 >= 64 }, "asks for \(counts) bytes")
        #expect(serial.count == 16)
        #expect(serial[0] == (fill & 0x7F) | 0x40)
        #expect(serial.dropFirst().allSatisfy { $0 == fill })
    }

    // MARK: Validity

    @Test("Validity is the profile's, from now")
    func validityIsTheProfiles() throws {
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA(key: .p256))
        let now = ControlFixtures.wholeSecondNow()
        let request = try ControlFixtures.request(key: try DeviceKey.p256.make())

        let certificate = try ca.issue(request, profile: CertificateProfile(validity: .seconds(30 * 86400)), now: now)

        #expect(certificate.notValidAfter == now.addingTimeInterval(30 * 86400))
        #expect(certificate.notValidBefore <= now)
        #expect(certificate.notValidBefore >= now.addingTimeInterval(-3600), "backdating is a small clock-skew allowance")
    }

    @Test(
        "maxValidity caps validity and never extends it",
        arguments: [(365, 90), (30, 90), (30, 30)])
    func maxValidityCaps(validityDays: Int, maxDays: Int) throws {
        let expectedDays = min(validityDays, maxDays)
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA(key: .p256))
        let now = ControlFixtures.wholeSecondNow()
        let profile = CertificateProfile(validity: .seconds(validityDays * 86400), maxValidity: .seconds(maxDays * 86400))
        let request = try ControlFixtures.request(key: try DeviceKey.p256.make())

        let certificate = try ca.issue(request, profile: profile, now: now)

        #expect(certificate.notValidAfter == now.addingTimeInterval(TimeInterval(expectedDays * 86400)))
    }

    @Test("A CA expiring in 10 days caps a one-year certificate at its own notAfter")
    func caNotAfterCaps() async throws {
        let now = ControlFixtures.wholeSecondNow()
        let caIdentity = try TestPKI.makeCA(notBefore: now.addingTimeInterval(-86400), notAfter: now.addingTimeInterval(10 * 86400))
        let ca = try ControlFixtures.localCA(caIdentity)
        let request = try ControlFixtures.request(key: try DeviceKey.p256.make())

        let certificate = try ca.issue(request, profile: CertificateProfile(validity: .seconds(365 * 86400)), now: now)

        #expect(certificate.notValidAfter == caIdentity.certificate.notValidAfter)
        let directory = try TemporaryDirectory()
        try directory.write(caIdentity.certificatePEM, to: "ca.pem")
        try directory.write(try ControlFixtures.pem(certificate), to: "leaf.pem")
        let verify = try await OpenSSLCommandLine.run(["verify", "-CAfile", "ca.pem", "leaf.pem"], in: directory)
        #expect(verify.succeeded, "\(verify)")
    }

    @Test("An expired CA refuses with issuer_error")
    func expiredCA() throws {
        let now = Date()
        let identity = try TestPKI.makeCA(notBefore: now.addingTimeInterval(-20 * 86400), notAfter: now.addingTimeInterval(-86400))
        let ca = try ControlFixtures.localCA(identity, name: "old-ca")
        let request = try ControlFixtures.request(key: try DeviceKey.p256.make())

        let refusal = #expect(throws: Refusal.self) { try ca.issue(request, profile: CertificateProfile(), now: now) }

        #expect(refusal?.outcome == .issuerError)
        #expect(refusal?.reason.contains("old-ca") == true, "\(String(describing: refusal))")
    }

    // MARK: Policy

    @Test(
        "KEY_USAGE: each certificate gets the usages its key type can have (encipherment for RSA, key agreement for EC)",
        arguments: [DeviceKey.rsa2048, .p256])
    func keyUsageFollowsTheProfileAndTheKeyType(deviceKey: DeviceKey) async throws {
        let caIdentity = try TestPKI.makeCA(key: .p256)
        let ca = try ControlFixtures.localCA(caIdentity)
        let profile = CertificateProfile(keyUsage: [.digitalSignature, .nonRepudiation, .keyEncipherment, .keyAgreement])
        let certificate = try ca.issue(try ControlFixtures.request(key: try deviceKey.make()), profile: profile, now: Date())

        let keyUsage = try #require(try certificate.extensions.keyUsage)
        let rsa = deviceKey == .rsa2048
        #expect(keyUsage.digitalSignature && keyUsage.nonRepudiation)
        #expect(keyUsage.keyEncipherment == rsa && keyUsage.keyAgreement == !rsa)
        #expect(!keyUsage.dataEncipherment && !keyUsage.keyCertSign && !keyUsage.cRLSign)
        // As OpenSSL reads it.
        let directory = try TemporaryDirectory()
        try directory.write(try ControlFixtures.pem(certificate), to: "leaf.pem")
        let text = try await OpenSSLCommandLine.run(["x509", "-in", "leaf.pem", "-noout", "-ext", "keyUsage"], in: directory)
        #expect(text.standardOutput.contains("critical"), "\(text)")
        #expect(text.standardOutput.contains(rsa ? "Digital Signature, Non Repudiation, Key Encipherment" : "Digital Signature, Non Repudiation, Key Agreement"), "\(text)")
    }

    @Test("A KEY_USAGE with nothing the device's key type can do is a policy_violation naming it")
    func keyUsageNothingFits() throws {
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA(key: .p256))
        let request = try ControlFixtures.request(key: try DeviceKey.p256.make())
        #expect {
            try ca.issue(request, profile: CertificateProfile(keyUsage: [.keyEncipherment]), now: Date())
        } throws: { error in
            guard let refusal = error as? Refusal else { return false }
            return refusal.outcome == .policyViolation && refusal.reason == "the profile's KEY_USAGE (keyEncipherment) has nothing an EC key can do"
        }
    }

    @Test("Requested EKUs within ALLOWED_EKUS are issued as requested")
    func requestedSubsetOfAllowedEKUs() throws {
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA(key: .p256))
        let profile = CertificateProfile(allowedEKUs: [.clientAuth, .serverAuth, .emailProtection])
        let request = try ControlFixtures.request(ekus: [.serverAuth, .clientAuth], key: try DeviceKey.p256.make())

        let certificate = try ca.issue(request, profile: profile, now: Date())

        #expect(Set(try #require(try certificate.extensions.extendedKeyUsage)) == [.serverAuth, .clientAuth])
    }

    @Test("No EKU requested: the certificate gets the profile's allowed set")
    func noEKURequested() throws {
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA(key: .p256))
        let profile = CertificateProfile(allowedEKUs: [.clientAuth, .serverAuth])
        let request = try ControlFixtures.request(key: try DeviceKey.p256.make())

        let certificate = try ca.issue(request, profile: profile, now: Date())

        #expect(Array(try #require(try certificate.extensions.extendedKeyUsage)) == [.clientAuth, .serverAuth])
    }

    @Test("A profile that allows no EKU issues no EKU extension, not an empty one (RFC 5280 §4.2.1.12: SIZE (1..MAX))")
    func emptyAllowedEKUs() throws {
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA(key: .p256))
        let request = try ControlFixtures.request(key: try DeviceKey.p256.make())

        let certificate = try ca.issue(request, profile: CertificateProfile(allowedEKUs: []), now: Date())

        let eku = certificate.extensions[oid: .X509ExtensionID.extendedKeyUsage]
        #expect(eku == nil, "EKU extension with value \(eku.map { Array($0.value) } ?? [])")
    }

    @Test(
        "An EKU outside ALLOWED_EKUS is a policy_violation naming the setting",
        arguments: [[ExtendedKeyUsage.Usage.codeSigning], [.clientAuth, .codeSigning], [.any]])
    func ekuOutsideAllowed(requested: [ExtendedKeyUsage.Usage]) throws {
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA(key: .p256))
        let request = try ControlFixtures.request(ekus: requested, key: try DeviceKey.p256.make())

        let refusal = #expect(throws: Refusal.self) {
            try ca.issue(request, profile: CertificateProfile(allowedEKUs: [.clientAuth]), now: Date())
        }

        #expect(refusal?.outcome == .policyViolation)
        #expect(refusal?.reason.contains("ALLOWED_EKUS") == true, "\(String(describing: refusal))")
    }

    @Test("An RSA-1024 request is a policy_violation whose reason names the minimum")
    func rsa1024IsRefusedNamingTheMinimum() throws {
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA())
        let csr = try TestPKI.makeCSR(commonName: "legacy-device", key: try DeviceKey.rsa1024.make())

        // The request is parsed first (by the edge and again by the control plane), then checked against the profile.
        let refusal = #expect(throws: Refusal.self) {
            try ca.issue(try CertificationRequest(derEncoded: csr), profile: CertificateProfile(), now: Date())
        }

        #expect(refusal?.outcome == .policyViolation)
        #expect(refusal?.reason.contains("2048") == true, "the operator is not told the minimum: \(String(describing: refusal))")
    }

    @Test("MIN_RSA_BITS is honoured above the default")
    func raisedMinimum() throws {
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA())
        let request = try ControlFixtures.request(key: try DeviceKey.rsa2048.make())

        let refusal = #expect(throws: Refusal.self) {
            try ca.issue(request, profile: CertificateProfile(minRSABits: 3072), now: Date())
        }

        #expect(refusal?.outcome == .policyViolation)
        #expect(refusal?.reason.contains("3072") == true, "\(String(describing: refusal))")
    }

    @Test("A request with neither subject nor SAN is a policy_violation")
    func nothingToCertify() throws {
        let ca = try ControlFixtures.localCA(try TestPKI.makeCA(key: .p256))
        let request = try ControlFixtures.request(commonName: nil, key: try DeviceKey.p256.make())

        let refusal = #expect(throws: Refusal.self) { try ca.issue(request, profile: CertificateProfile(), now: Date()) }

        #expect(refusal?.outcome == .policyViolation)
    }

    @Test("EKU names and dotted OIDs parse; unknown names do not")
    func ekuNames() {
        #expect(CertificateProfile.extendedKeyUsage(named: "clientAuth") == .clientAuth)
        #expect(CertificateProfile.extendedKeyUsage(named: "SERVERAUTH") == .serverAuth)
        #expect(CertificateProfile.extendedKeyUsage(named: "emailProtection") == .emailProtection)
        #expect(CertificateProfile.extendedKeyUsage(named: "1.3.6.1.5.5.7.3.2") == .clientAuth)
        #expect(CertificateProfile.extendedKeyUsage(named: "1.3.6.1.4.1.311.20.2.2") == ExtendedKeyUsage.Usage(oid: [1, 3, 6, 1, 4, 1, 311, 20, 2, 2]))
        #expect(CertificateProfile.extendedKeyUsage(named: "smartcardLogin") == nil)
        #expect(CertificateProfile.extendedKeyUsage(named: "") == nil)
    }

    // MARK: Loading

    @Test("A key that does not match the certificate is refused with a clear reason")
    func mismatchedKey() throws {
        let ca = try TestPKI.makeCA()
        let other = try TestPKI.makeCA(keyUnlike: ca)

        let error = #expect(throws: LocalCA.LoadError.self) {
            try LocalCA(name: "corp-ca", certificatePEM: ca.certificatePEM, keyPEM: other.keyPEM)
        }

        #expect(error?.reason.contains("does not belong") == true, "\(String(describing: error))")
    }

    @Test("A certificate that is not a CA is refused with a clear reason")
    func notACA() throws {
        let leaf = try TestPKI.makeLeaf(commonName: "not-a-ca")

        let error = #expect(throws: LocalCA.LoadError.self) {
            try LocalCA(name: "corp-ca", certificatePEM: leaf.certificatePEM, keyPEM: leaf.keyPEM)
        }

        #expect(error?.reason.contains("CA:TRUE") == true, "\(String(describing: error))")
    }

    @Test("Unparseable certificate or key PEM is refused, naming which")
    func unparseable() throws {
        let ca = try TestPKI.makeCA(key: .p256)

        let badCertificate = #expect(throws: LocalCA.LoadError.self) {
            try LocalCA(name: "corp-ca", certificatePEM: "not a certificate", keyPEM: ca.keyPEM)
        }
        let badKey = #expect(throws: LocalCA.LoadError.self) {
            try LocalCA(name: "corp-ca", certificatePEM: ca.certificatePEM, keyPEM: "not a key")
        }

        #expect(badCertificate?.reason.contains("certificate does not parse") == true, "\(String(describing: badCertificate))")
        #expect(badKey?.reason.contains("key does not parse") == true, "\(String(describing: badKey))")
    }

    @Test("The chain PEM is kept nearest first, as DER")
    func chainIsKept() throws {
        let root = try TestPKI.makeCA(commonName: "Root")
        let intermediate = try TestPKI.makeCA(commonName: "Intermediate", issuer: root)
        let issuing = try TestPKI.makeCA(commonName: "Issuing", issuer: intermediate)

        let ca = try LocalCA(
            name: "issuing", certificatePEM: issuing.certificatePEM, keyPEM: issuing.keyPEM,
            chainPEM: intermediate.certificatePEM + root.certificatePEM)

        #expect(ca.certificateDER == issuing.certificateDER)
        #expect(ca.chain == [intermediate.certificateDER, root.certificateDER])
    }
}
