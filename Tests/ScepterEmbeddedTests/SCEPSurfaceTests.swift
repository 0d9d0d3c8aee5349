import Foundation
import HTTPTypes
import ScepterEmbedded
import HummingbirdTesting
import NIOCore
import Testing
import X509
import SwiftASN1
import ScepterControl
import ScepterEdge
import ScepterProtocol
import ScepterTesting

@Suite("SCEP over HTTP in embedded mode", .timeLimit(.minutes(5)))
struct SCEPSurfaceTests {
    @Test func capabilitiesAdvertiseWhatIsSupported() async throws {
        let harness = try await EmbeddedHarness.make()
        try await harness.test { client in
            try await client.execute(uri: "/scep?operation=GetCACaps", method: .get) { response in
                #expect(response.status == .ok)
                let keywords = String(buffer: response.body).split(separator: "\n").map(String.init)
                #expect(keywords == ["POSTPKIOperation", "SHA-224", "SHA-256", "SHA-384", "SHA-512", "AES", "DES3", "SCEPStandard", "Renewal"])
            }
        }
    }

    @Test(arguments: ["/scep", "/scep/default", "/scep/DEFAULT", "/scep/default/pkiclient.exe", "/certsrv/mscep/mscep.dll"])
    func caCertificateOnEveryPath(path: String) async throws {
        let harness = try await EmbeddedHarness.make()
        try await harness.test { client in
            try await client.execute(uri: "\(path)?operation=GetCACert", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/x-x509-ca-ra-cert")
                let directory = try Shell.temporaryDirectory()
                let file = directory.appendingPathComponent("ca-ra.p7b")
                try Shell.write(Array(response.body.readableBytesView), to: file)
                let printed = try await Shell.openssl("pkcs7", "-inform", "DER", "-in", file.path, "-print_certs", "-noout")
                let subjects = printed.stdout.split(separator: "\n").filter { $0.hasPrefix("subject=") }
                #expect(subjects == ["subject=O = Scepter, CN = Scepter Development CA", "subject=O = Scepter, CN = Scepter Development RA"])
            }
        }
    }

    @Test func unknownProfileOperationAndMissingOperation() async throws {
        let harness = try await EmbeddedHarness.make()
        try await harness.test { client in
            try await client.execute(uri: "/scep/nosuch?operation=GetCACaps", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/scep?operation=Frobnicate", method: .get) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/scep", method: .get) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/scep?operation=GetNextCACert", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/scep?operation=PKIOperation", method: .get) { #expect($0.status == .badRequest) }
        }
    }

    @Test func enrollsOverPostAndRecordsOneAuditEvent() async throws {
        let harness = try await EmbeddedHarness.make()
        let device = try TestDevice(challenge: harness.server.challenge, dnsNames: ["device-1.example.com"], uris: ["tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001"])
        let (status, body) = try await harness.test { try await $0.pkiOperation(try device.pkcsReq(ra: harness.ra, transactionID: "tx-post")) }
        #expect(status == .ok)
        let reply = try SCEPClient.readReply(body, requester: try device.signer.keyPair())
        #expect(reply.status == .success)
        let issued = try Certificate(derEncoded: try #require(reply.certificates.first))
        #expect(issued.subject == device.signer.certificate.subject)
        #expect(try harness.caCertificate.publicKey.isValidSignature(issued.signature, for: issued))
        let sans = try #require(try issued.extensions.subjectAlternativeNames)
        #expect(Array(sans) == [.dnsName("device-1.example.com"), .uniformResourceIdentifier("tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-1001")])

        let events = try await harness.server.store.auditEvents(AuditQuery(transactionID: "tx-post"))
        #expect(events.count == 1)
        #expect(events.first?.outcome == .success)
        #expect(events.first?.serialNumber == issued.serialNumber.hexString)
        #expect(events.first?.csrSANs?.contains("DNS:device-1.example.com") == true)
        #expect(try await harness.auditCount() == 1)
    }

    @Test func enrollsOverGetWithUnescapedUnpaddedBase64() async throws {
        let harness = try await EmbeddedHarness.make()
        let device = try TestDevice(challenge: harness.server.challenge)
        let message = try device.pkcsReq(ra: harness.ra)
        let raw = Base64.encode(message)
        for variant in [raw, raw.replacingOccurrences(of: "=", with: ""), raw.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? raw] {
            let body = try await harness.test { client in
                try await client.execute(uri: "/scep?operation=PKIOperation&message=\(variant)", method: .get) { response in
                    #expect(response.status == .ok)
                    return Array(response.body.readableBytesView)
                }
            }
            #expect(try SCEPClient.readReply(body, requester: try device.signer.keyPair()).status == .success)
        }
    }

    @Test func wrongAndMissingChallengeAreFailureBadRequest() async throws {
        let harness = try await EmbeddedHarness.make()
        for challenge in ["wrong", nil] as [String?] {
            let device = try TestDevice(challenge: challenge)
            let (status, body) = try await harness.test { try await $0.pkiOperation(try device.pkcsReq(ra: harness.ra, transactionID: "tx-\(challenge ?? "none")")) }
            #expect(status == .ok)
            let reply = try SCEPClient.readReply(body, requester: try device.signer.keyPair())
            #expect(reply.status == .failure)
            #expect(reply.failInfo == .badRequest)
        }
        let refused = try await harness.server.store.auditEvents(AuditQuery(outcome: .challengeInvalid))
        #expect(refused.count == 2)
        #expect(refused.allSatisfy { !$0.details.contains(harness.server.challenge) })
    }

    @Test func retransmissionReturnsTheSameCertificate() async throws {
        let harness = try await EmbeddedHarness.make()
        let device = try TestDevice(challenge: harness.server.challenge)
        let message = try device.pkcsReq(ra: harness.ra, transactionID: "tx-retry")
        let serials = try await harness.test { client in
            var serials: [[UInt8]] = []
            for _ in 0..<3 {
                let (_, body) = try await client.pkiOperation(message)
                serials.append(try SCEPClient.readReply(body, requester: try device.signer.keyPair()).certificates.first ?? [])
            }
            return serials
        }
        #expect(Set(serials).count == 1)
        #expect(serials.first?.isEmpty == false)
    }

    @Test func pollGetCertAndGetCRL() async throws {
        let harness = try await EmbeddedHarness.make()
        let device = try TestDevice(commonName: "poller", challenge: harness.server.challenge)
        let signer = try device.signer.keyPair()
        let ca = try harness.caCertificate
        try await harness.test { client in
            let (_, enrolled) = try await client.pkiOperation(try device.pkcsReq(ra: harness.ra, transactionID: "tx-poll"))
            let issuedDER = try #require(try SCEPClient.readReply(enrolled, requester: signer).certificates.first)
            let issued = try Certificate(derEncoded: issuedDER)

            var coder = DER.Serializer()
            try coder.serialize(IssuerAndSubject(issuer: ca.subject, subject: issued.subject))
            let poll = try SCEPClient.request(.certPoll, content: coder.serializedBytes, transactionID: "tx-poll", recipient: harness.ra, signer: signer)
            let polled = try SCEPClient.readReply(try await client.pkiOperation(poll).1, requester: signer)
            #expect(polled.status == .success)
            #expect(polled.certificates.first == issuedDER)

            let unknownPoll = try SCEPClient.request(.certPoll, content: coder.serializedBytes, transactionID: "tx-nobody", recipient: harness.ra, signer: signer)
            let unknown = try SCEPClient.readReply(try await client.pkiOperation(unknownPoll).1, requester: signer)
            #expect(unknown.status == .failure)
            #expect(unknown.failInfo == .badCertID)

            coder = DER.Serializer()
            try coder.serialize(IssuerAndSerial(issuer: ca.subject, serialNumber: issued.serialNumber))
            let getCert = try SCEPClient.request(.getCert, content: coder.serializedBytes, transactionID: "tx-getcert", recipient: harness.ra, signer: signer)
            let got = try SCEPClient.readReply(try await client.pkiOperation(getCert).1, requester: signer)
            #expect(got.status == .success)
            #expect(got.certificates == [issuedDER])

            coder = DER.Serializer()
            try coder.serialize(IssuerAndSerial(issuer: ca.subject, serialNumber: Certificate.SerialNumber(bytes: [0x01, 0x02])))
            let missing = try SCEPClient.request(.getCert, content: coder.serializedBytes, transactionID: "tx-missing", recipient: harness.ra, signer: signer)
            #expect(try SCEPClient.readReply(try await client.pkiOperation(missing).1, requester: signer).failInfo == .badCertID)

            // The CA's name re-encoded as a client may (UTF8String for PrintableString and back, upper case,
            // extra spaces) is still the CA's name (RFC 5280 §7.1).
            let reencoded = try TestPKI.reencoded(ca.subject)
            #expect(reencoded != ca.subject)
            coder = DER.Serializer()
            try coder.serialize(IssuerAndSerial(issuer: reencoded, serialNumber: issued.serialNumber))
            let reencodedGet = try SCEPClient.request(.getCert, content: coder.serializedBytes, transactionID: "tx-reencoded", recipient: harness.ra, signer: signer)
            let gotAgain = try SCEPClient.readReply(try await client.pkiOperation(reencodedGet).1, requester: signer)
            #expect(gotAgain.status == .success)
            #expect(gotAgain.certificates == [issuedDER])

            // The right serial under another issuer's name is not this certificate (serials are unique per issuer only).
            coder = DER.Serializer()
            try coder.serialize(IssuerAndSerial(issuer: issued.subject, serialNumber: issued.serialNumber))
            let otherIssuer = try SCEPClient.request(.getCert, content: coder.serializedBytes, transactionID: "tx-other", recipient: harness.ra, signer: signer)
            #expect(try SCEPClient.readReply(try await client.pkiOperation(otherIssuer).1, requester: signer).failInfo == .badCertID)

            // GetCRL names the CA whose CRL it wants: the profile's.
            coder = DER.Serializer()
            try coder.serialize(IssuerAndSerial(issuer: ca.subject, serialNumber: issued.serialNumber))
            let getCRL = try SCEPClient.request(.getCRL, content: coder.serializedBytes, transactionID: "tx-crl", recipient: harness.ra, signer: signer)
            let crl = try SCEPClient.readReply(try await client.pkiOperation(getCRL).1, requester: signer)
            #expect(crl.status == .success)
            #expect(crl.crls.count == 1)
            let directory = try Shell.temporaryDirectory()
            try Shell.write(crl.crls[0], to: directory.appendingPathComponent("ca.crl"))
            try harness.caPEM.write(to: directory.appendingPathComponent("ca.pem"), atomically: true, encoding: .utf8)
            let verified = try await Shell.openssl(
                "crl", "-inform", "DER", "-in", directory.appendingPathComponent("ca.crl").path, "-CAfile",
                directory.appendingPathComponent("ca.pem").path, "-noout")
            #expect(verified.status == 0, "\(verified.stderr)")
        }
    }

    @Test func renewalNeedsACertificateThisProfileIssued() async throws {
        let harness = try await EmbeddedHarness.make()
        let device = try TestDevice(commonName: "renewer", challenge: harness.server.challenge)
        try await harness.test { client in
            let (_, body) = try await client.pkiOperation(try device.pkcsReq(ra: harness.ra))
            let issuedDER = try #require(try SCEPClient.readReply(body, requester: try device.signer.keyPair()).certificates.first)
            let issued = try Certificate(derEncoded: issuedDER)
            let currentPair = try CertificateKeyPair(certificatePEM: PEM.encode(issuedDER, label: "CERTIFICATE"), keyPEM: device.signer.keyPEM)

            // A new key, signed with the current certificate; no challenge needed.
            let next = try TestDevice(commonName: "renewer", challenge: nil)
            let renewal = try SCEPClient.request(.renewalReq, content: next.csr, transactionID: "tx-renew", recipient: harness.ra, signer: currentPair)
            let renewed = try SCEPClient.readReply(try await client.pkiOperation(renewal).1, requester: currentPair)
            #expect(renewed.status == .success)
            #expect(try renewed.certificates.first.map { try Certificate(derEncoded: $0).serialNumber } != issued.serialNumber)

            // Signed with a self-signed certificate: refused.
            let forged = try SCEPClient.request(.renewalReq, content: next.csr, transactionID: "tx-forged", recipient: harness.ra, signer: try next.signer.keyPair())
            let refused = try SCEPClient.readReply(try await client.pkiOperation(forged).1, requester: try next.signer.keyPair())
            #expect(refused.status == .failure)
            #expect(refused.failInfo == .badMessageCheck)
        }
        #expect(try await harness.server.store.auditEvents(AuditQuery(outcome: .renewalInvalid)).count == 1)
    }

    @Test("RenewalReqs per certificate are limited (RENEWAL_LIMIT); a retransmission is not counted again")
    func renewalsPerCertificateAreLimited() async throws {
        let harness = try await EmbeddedHarness.make(environment: [
            "SCEPTER_PROFILES": "corp", "SCEPTER_PROFILE_CORP_CHALLENGE_PASSWORD": "corp-static-challenge", "SCEPTER_PROFILE_CORP_RENEWAL_LIMIT": "2",
        ])
        let device = try TestDevice(commonName: "renewer", challenge: "corp-static-challenge")
        try await harness.test { client in
            let (_, body) = try await client.pkiOperation(try device.pkcsReq(ra: harness.ra), profile: "corp")
            let issuedDER = try #require(try SCEPClient.readReply(body, requester: try device.signer.keyPair()).certificates.first)
            let current = try CertificateKeyPair(certificatePEM: PEM.encode(issuedDER, label: "CERTIFICATE"), keyPEM: device.signer.keyPEM)
            func renew(_ commonName: String, transaction: String) async throws -> SCEPClient.Reply {
                let next = try TestDevice(commonName: commonName, challenge: nil, signer: device.signer)
                let message = try SCEPClient.request(.renewalReq, content: next.csr, transactionID: transaction, recipient: harness.ra, signer: current)
                return try SCEPClient.readReply(try await client.pkiOperation(message, profile: "corp").1, requester: current)
            }
            // Two attempts the control plane refuses (they ask for another subject), one of them sent twice.
            #expect(try await renew("someone-else", transaction: "tx-renew-1").failInfo == .badMessageCheck)
            #expect(try await renew("someone-else", transaction: "tx-renew-1").failInfo == .badMessageCheck, "a retransmission is not counted")
            #expect(try await renew("someone-else-2", transaction: "tx-renew-2").failInfo == .badMessageCheck)
            // The third request with this certificate, valid or not, is over the limit.
            let limited = try await renew("renewer", transaction: "tx-renew-3")
            #expect(limited.status == .failure)
            #expect(limited.failInfo == .badRequest)
        }
        let limited = try await harness.server.store.auditEvents(AuditQuery(outcome: .rateLimited))
        #expect(limited.count == 1)
        #expect(limited.first?.details.contains("SCEPTER_PROFILE_CORP_RENEWAL_LIMIT") == true, "\(limited.first?.details ?? "")")
        #expect(try await harness.server.store.auditEvents(AuditQuery(outcome: .renewalInvalid)).count == 3)
    }

    @Test("A revoked certificate cannot renew")
    func revokedCertificateCannotRenew() async throws {
        let harness = try await EmbeddedHarness.make()
        let device = try TestDevice(commonName: "revoked-renewer", challenge: harness.server.challenge)
        try await harness.test { client in
            let (_, body) = try await client.pkiOperation(try device.pkcsReq(ra: harness.ra))
            let issuedDER = try #require(try SCEPClient.readReply(body, requester: try device.signer.keyPair()).certificates.first)
            let serial = try Certificate(derEncoded: issuedDER).serialNumber.hexString
            _ = try await harness.server.store.revoke(Revocation(serialNumber: serial, reason: .keyCompromise, actor: "test", at: Date()), audit: { _ in nil })
            let current = try CertificateKeyPair(certificatePEM: PEM.encode(issuedDER, label: "CERTIFICATE"), keyPEM: device.signer.keyPEM)
            let next = try TestDevice(commonName: "revoked-renewer", challenge: nil)
            let message = try SCEPClient.request(.renewalReq, content: next.csr, transactionID: "tx-revoked", recipient: harness.ra, signer: current)
            let reply = try SCEPClient.readReply(try await client.pkiOperation(message).1, requester: current)
            #expect(reply.status == .failure)
            #expect(reply.failInfo == .badMessageCheck)
        }
        let refused = try #require(try await harness.server.store.auditEvents(AuditQuery(outcome: .renewalInvalid)).first)
        #expect(refused.details.contains("revoked"), "\(refused.details)")
    }

    @Test func metricsCountOutcomes() async throws {
        let harness = try await EmbeddedHarness.make()
        let device = try TestDevice(challenge: harness.server.challenge)
        try await harness.test { client in
            _ = try await client.pkiOperation(try device.pkcsReq(ra: harness.ra))
            _ = try await client.pkiOperation(try TestDevice(challenge: "bad").pkcsReq(ra: harness.ra))
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"scepter_enrollments_total{profile="default",outcome="success"} 1"#))
                #expect(text.contains(#"scepter_enrollments_total{profile="default",outcome="challenge_invalid"} 1"#))
                #expect(text.contains("scepter_pkioperation_duration_seconds_bucket"))
                // When the RA and CA certificates stop being valid, for alerts (docs/kubernetes.md §10).
                let ra = try #require(harness.server.configuration.profiles["default"]?.ra.notAfter.map { Int($0.timeIntervalSince1970) })
                #expect(text.contains(#"scepter_ra_certificate_not_after_seconds{profile="default"} \#(ra)"#), "\(text)")
                #expect(text.contains("scepter_issuer_certificate_not_after_seconds{issuer="), "\(text)")
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
        }
    }
}
