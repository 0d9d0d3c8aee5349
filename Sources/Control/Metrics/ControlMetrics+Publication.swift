import Prometheus

/// What relying parties got from `/crl/{issuer}.crl` and `/ocsp/{issuer}`,
/// labelled by configured issuers only (an unknown name in a URL is a 404,
/// not a new series).
extension ControlMetrics {
    /// A CRL request's outcome.
    package enum CRLResult: String, Sendable, CaseIterable {
        case served
        /// `If-None-Match` named the current CRL: 304.
        case notModified = "not_modified"
        /// The inventory could not be read to sign it: 503.
        case unavailable
    }

    static var ocspResponses: MetricNameDescriptor {
        named("ocsp_responses", "total", "OCSP answers by issuer and result: the certificate's status (good, revoked, unknown; several for more), or the error sent")
    }
    static var crlResponses: MetricNameDescriptor {
        named("crl_responses", "total", "CRL requests by issuer and result (served, not_modified, unavailable)")
    }
    static var crlEntries: MetricNameDescriptor {
        named("crl_entries", "", "Certificates listed on the issuer's CRL as last served")
    }

    package func recordOCSP(issuer: String, result: OCSPResponder.Result) {
        registry.makeCounter(descriptor: Self.ocspResponses, labels: [("issuer", issuer), ("result", result.rawValue)]).increment()
    }

    /// `entries`: the served CRL's count of revoked certificates.
    package func recordCRL(issuer: String, result: CRLResult, entries: Int? = nil) {
        registry.makeCounter(descriptor: Self.crlResponses, labels: [("issuer", issuer), ("result", result.rawValue)]).increment()
        if let entries { registry.makeGauge(descriptor: Self.crlEntries, labels: [("issuer", issuer)]).set(Double(entries)) }
    }

    /// Every issuer's publication counters at 0 from the start, so an alert
    /// on their increase sees the first `try_later` or `unavailable`.
    package func startCountingPublication(issuers: some Sequence<String>) {
        for issuer in issuers {
            for result in OCSPResponder.Result.allCases {
                registry.makeCounter(descriptor: Self.ocspResponses, labels: [("issuer", issuer), ("result", result.rawValue)]).increment(by: Int64(0))
            }
            for result in CRLResult.allCases {
                registry.makeCounter(descriptor: Self.crlResponses, labels: [("issuer", issuer), ("result", result.rawValue)]).increment(by: Int64(0))
            }
        }
    }
}
