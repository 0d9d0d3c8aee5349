import Crypto
import Foundation
import NIOPosix
import Synchronization
import ScepterProtocol

/// Each issuer's current CRL, signed once and served until it changes: a
/// revocation (noticed on the next request through the inventory's
/// revocation stamp, so a revocation on another replica counts too) or half
/// its validity gone. GetCRL over SCEP and `GET /crl/{issuer}.crl` serve the
/// same bytes.
package final class CRLPublisher: Sendable {
    /// One signed CRL and what it was signed from.
    package struct Published: Sendable {
        package var der: [UInt8]
        package var thisUpdate: Date
        package var nextUpdate: Date
        package var number: UInt64
        /// Quoted, for the ETag header.
        package var entityTag: String
        var stamp: RevocationStamp
    }

    let issuers: [String: LocalCA]
    let store: any ControlStore
    /// nextUpdate - thisUpdate.
    let validity: Duration
    let now: @Sendable () -> Date
    private let published = Mutex<[String: Published]>([:])
    private let lastNumber = Atomic<UInt64>(0)
    /// One signature at a time per process: a burst of requests after a revocation signs once.
    private let signing = AsyncLock()

    package init(issuers: [LocalCA], store: any ControlStore, validity: Duration = .seconds(7 * 86400), now: @escaping @Sendable () -> Date = { Date() }) {
        self.issuers = Dictionary(issuers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.store = store
        self.validity = validity
        self.now = now
    }

    /// The issuer's current CRL; nil for an issuer this control plane does not have.
    package func crl(issuer name: String) async throws -> Published? {
        guard let issuer = issuers[name] else { return nil }
        let stamp = try await store.revocationStamp(issuer: name)
        if let current = fresh(name, stamp: stamp) { return current }
        return try await signing.withLock {
            // Another request may have signed it while this one waited.
            if let current = fresh(name, stamp: stamp) { return current }
            let revoked = try await store.revocations(issuer: name)
            let at = now()
            let number = nextNumber(at)
            // Hundreds of milliseconds of CPU for 10⁵ entries: on NIO's blocking
            // pool, so the event loop this task runs on goes on serving enrollments.
            let validity = self.validity
            let der = try await NIOThreadPool.singleton.runIfActive {
                try CRLBuilder.build(ca: issuer, revoked: revoked, crlNumber: number, now: at, nextUpdate: validity)
            }
            let digest = SHA256.hash(data: der).prefix(12).map { String(format: "%02x", $0) }.joined()
            let crl = Published(
                der: der, thisUpdate: at, nextUpdate: at.addingTimeInterval(validity.timeInterval), number: number, entityTag: "\"\(digest)\"",
                stamp: RevocationStamp(count: revoked.count, latest: revoked.map(\.revokedAt).max()))
            published.withLock { $0[name] = crl }
            return crl
        }
    }

    /// The cached CRL if nothing was revoked since and less than half its validity is gone.
    private func fresh(_ name: String, stamp: RevocationStamp) -> Published? {
        guard let current = published.withLock({ $0[name] }), current.stamp == stamp else { return nil }
        let halfway = current.thisUpdate.addingTimeInterval(validity.timeInterval / 2)
        return now() < halfway ? current : nil
    }

    /// Seconds since 1970 of thisUpdate: increasing across restarts and
    /// replicas; bumped when two CRLs are signed within one second here.
    private func nextNumber(_ at: Date) -> UInt64 {
        let seconds = UInt64(max(0, at.timeIntervalSince1970))
        while true {
            let last = lastNumber.load(ordering: .relaxed)
            let number = max(seconds, last + 1)
            if lastNumber.compareExchange(expected: last, desired: number, ordering: .relaxed).exchanged { return number }
        }
    }
}
