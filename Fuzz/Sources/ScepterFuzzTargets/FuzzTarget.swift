import COpenSSL
import Foundation

/// One libFuzzer target: a parser of untrusted input, and the seeds that
/// show the fuzzer what that input looks like.
package enum FuzzTarget: String, CaseIterable, Sendable {
    case pkiMessage = "pkimessage"
    case envelope
    case csr
    case issuerAndSerial = "issuer-and-serial"
    case intuneChallenge = "intune-challenge"
    case intuneClaim = "intune-claim"
    case query
    case ocsp

    /// Runs one input through the parser; returns 0 as libFuzzer expects.
    /// A crash, a leak, a hang or a failed invariant (fatalError) is a finding.
    package func run(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        switch self {
        case .pkiMessage: PKIMessageTarget.run(bytes)
        case .envelope: EnvelopeTarget.run(bytes)
        case .csr: CSRTarget.run(bytes)
        case .issuerAndSerial: IssuerAndSerialTarget.run(bytes)
        case .intuneChallenge: IntuneChallengeTarget.run(bytes)
        case .intuneClaim: IntuneClaimTarget.run(bytes)
        case .query: QueryTarget.run(bytes)
        case .ocsp: OCSPTarget.run(bytes)
        }
        // OpenSSL keeps the strings of its last 16 errors per thread until the
        // slot is reused, so most inputs would end with more allocations than
        // frees and libFuzzer would run a full leak scan after each of them
        // (a hundred times slower, and it gives up on leaks after 1000).
        // Freeing the thread's OpenSSL state makes every input balance.
        OPENSSL_thread_stop()
        return 0
    }

    /// The seeds made in code (Fuzz/make-corpus.sh adds OpenSSL-made ones).
    func seeds() throws -> [(name: String, bytes: [UInt8])] {
        switch self {
        case .pkiMessage: try PKIMessageTarget.seeds()
        case .envelope: try EnvelopeTarget.seeds()
        case .csr: try CSRTarget.seeds()
        case .issuerAndSerial: try IssuerAndSerialTarget.seeds()
        case .intuneChallenge: try IntuneChallengeTarget.seeds()
        case .intuneClaim: try IntuneClaimTarget.seeds()
        case .query: try QueryTarget.seeds()
        case .ocsp: []
        }
    }

    /// libFuzzer's `LLVMFuzzerInitialize`: loads the fixtures before the
    /// first input (so their allocations are not taken for leaks), and with
    /// `SCEPTER_FUZZ_WRITE_SEEDS=<directory>` writes the seeds there and exits.
    package func initialize() -> CInt {
        // LeakSanitizer cannot follow pointers that Swift keeps in enum
        // payloads with tag bits set (Data, Certificate.PublicKey), so the
        // fixtures, which live for the whole run, would be reported as leaked.
        lsanDisable()
        _ = FuzzFixtures.ra
        _ = FuzzFixtures.device
        _ = FuzzFixtures.ocspIssuer
        _ = FuzzFixtures.ocspSigner
        _ = FuzzFixtures.validator
        _ = FuzzFixtures.rsaConnectorKey
        lsanEnable()
        if let directory = ProcessInfo.processInfo.environment["SCEPTER_FUZZ_WRITE_SEEDS"] {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let seeds = try seeds()
                for seed in seeds {
                    try Data(seed.bytes).write(to: URL(fileURLWithPath: directory).appendingPathComponent(seed.name))
                }
                print("\(rawValue): wrote \(seeds.count) seeds to \(directory)")
                fflush(nil)
                // _exit: no leak check at exit, seed-making is not what is fuzzed.
                _exit(0)
            } catch {
                print("\(rawValue): writing seeds to \(directory) failed: \(error)")
                fflush(nil)
                _exit(1)
            }
        }
        return 0
    }
}

/// LeakSanitizer's interface (sanitizer/lsan_interface.h); always linked, as
/// the fuzzers are built with AddressSanitizer. Allocations made between the
/// two calls are never reported.
@_silgen_name("__lsan_disable") private func lsanDisable()
@_silgen_name("__lsan_enable") private func lsanEnable()
