import Testing
import X509
import ScepterProtocol

@Suite("PKCS#10 requests made by openssl req", .timeLimit(.minutes(5)))
struct CertificationRequestTests {
    @Test func fullRequestExposesSubjectChallengeAndEveryKindOfSAN() throws {
        let csr = try CertificationRequest(derEncoded: try Fixture.bytes("csr-full.der"))
        #expect(csr.commonName == "device-1")
        #expect(csr.challengePassword == "s3cret-challenge")
        #expect(csr.subjectAlternativeNames.dnsNames == ["device-1.example.com", "alt.example.com"])
        #expect(csr.subjectAlternativeNames.rfc822Names == ["alice@example.com"])
        #expect(csr.subjectAlternativeNames.userPrincipalNames == ["alice@corp.example.com"])
        #expect(csr.subjectAlternativeNames.uris == ["tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-512"])
        #expect(csr.key == .rsa(bits: 2048))
        let ekus = try #require(try csr.requestedExtensions?.extendedKeyUsage)
        #expect(Array(ekus) == [.clientAuth])
    }

    @Test func ecdsaRequestWithoutAttributes() throws {
        let csr = try CertificationRequest(derEncoded: try Fixture.bytes("csr-ec.der"))
        #expect(csr.key == .ecdsa(curve: "P-256"))
        #expect(csr.challengePassword == nil)
        #expect(csr.subjectAlternativeNames.isEmpty)
        #expect(csr.commonName == "ec-device")
    }

    @Test func sha1RequestWithPrintableStringChallenge() throws {
        let csr = try CertificationRequest(derEncoded: try Fixture.bytes("csr-sha1.der"))
        #expect(csr.challengePassword == "s3cret-challenge")
        #expect(csr.commonName == "sha1-device")
    }

    @Test func plainRequest() throws {
        let csr = try CertificationRequest(derEncoded: try Fixture.bytes("csr-plain.der"))
        #expect(csr.commonName == "plain-device")
        #expect(csr.requestedExtensions == nil)
    }

    @Test func tamperedSubjectFailsTheSelfSignature() throws {
        let bytes = try Fixture.bytes("csr-tampered.der")
        do {
            _ = try CertificationRequest(derEncoded: bytes)
            Issue.record("a tampered CSR verified")
        } catch {
            #expect(error.outcome == .badMessageCheck)
        }
    }

    @Test(arguments: [[], [0x30], [0x30, 0x03, 0x02, 0x01, 0x00], Array(repeating: 0x41, count: 64)] as [[UInt8]])
    func garbageIsAPolicyViolation(bytes: [UInt8]) {
        do {
            _ = try CertificationRequest(derEncoded: bytes)
            Issue.record("garbage parsed as a CSR")
        } catch {
            #expect(error.outcome == .policyViolation)
        }
    }
}
