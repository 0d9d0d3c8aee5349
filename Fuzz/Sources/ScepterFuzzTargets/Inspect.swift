import ScepterProtocol
import X509

/// Reads every field the server goes on to use, so lazily decoded parts
/// are exercised too.
enum Inspect {
    static func content(_ content: PKIMessage.Content) {
        switch content {
        case .certificationRequest(let csr): request(csr)
        case .issuerAndSubject(let value): _ = (value.issuer.description.count, value.subject.description.count)
        case .issuerAndSerial(let value): _ = (value.issuer.description.count, value.serialNumber.hexString.count)
        }
    }

    static func request(_ csr: CertificationRequest) {
        _ = csr.commonNames
        _ = csr.subject.description
        _ = csr.subjectAlternativeNames.summary
        _ = csr.challengePassword?.count
        _ = csr.key.description
        _ = csr.requestedExtensions?.count
    }
}
