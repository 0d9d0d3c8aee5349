import X509

extension CertificationRequest {
    /// Why this request cannot renew `certificate`, or nil when it can: a
    /// renewal asks for the subject the certificate has, exactly, and no
    /// name it does not have (dropping names is allowed). The one statement
    /// of the rule, for the edge's and the control plane's checks.
    package func renewalProblem(renewing certificate: Certificate) -> String? {
        let serial = certificate.serialNumber.hexString
        guard subject == certificate.subject else {
            return "renewal asks for subject \(subject), but certificate \(serial) is for \(certificate.subject)"
        }
        let held = Set(((try? certificate.extensions.subjectAlternativeNames) ?? nil).map { Array($0) } ?? [])
        let requested = ((try? requestedExtensions?.subjectAlternativeNames) ?? nil).map { Array($0) } ?? []
        let added = requested.filter { !held.contains($0) }
        guard added.isEmpty else {
            return "renewal adds names certificate \(serial) does not have: \(added.map { "\($0)" }.joined(separator: ", "))"
        }
        return nil
    }
}
