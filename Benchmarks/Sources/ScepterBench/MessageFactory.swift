import Foundation

/// Makes PKCSReq messages from a small pool of devices (RSA-2048 key, signer
/// certificate and CSR each), every message with its own transactionID and
/// senderNonce. A message costs one CMS signature and one encryption (about
/// 0.5 ms), not a key generation (about 0.1 s), so open-loop runs, sweeps and
/// the soak (hundreds of thousands of enrollments) can afford them. The
/// server keys enrollments by transactionID and CSR digest, so a device's CSR
/// under a new transactionID is a new enrollment.
final class MessageFactory: Sendable {
    let devices: [Device]
    let ra: X509Cert

    /// `keys` devices, their keys from `keyCache` (as `pool-N.der`) when present.
    init(keys: Int, challenge: String, ra: X509Cert, keyCache: String?, threads: Int) throws {
        if let keyCache { try FileManager.default.createDirectory(atPath: keyCache, withIntermediateDirectories: true) }
        let counter = WorkCounter()
        let made = Collector<(Int, Device)>()
        let failures = Collector<String>()
        let runID = String(UInt32.random(in: .min ... .max), radix: 16)
        runThreads(max(1, threads), cpu: nil) { _ in
            while failures.all.isEmpty {
                let index = counter.take()
                guard index < keys else { break }
                do {
                    let cached = keyCache.map { "\($0)/pool-\(index).der" }
                    let keyDER = cached.flatMap { FileManager.default.contents(atPath: $0) }.map { [UInt8]($0) }
                    let device = try Device(commonName: "bench-\(runID)-\(index)", challenge: challenge, keyDER: keyDER)
                    if let cached, keyDER == nil { try Data(device.keyDER).write(to: URL(fileURLWithPath: cached), options: .atomic) }
                    made.append([(index, device)])
                } catch {
                    failures.append(["device \(index): \(error)"])
                }
            }
        }
        if let failure = failures.all.first { throw BenchError(failure) }
        devices = made.all.sorted { $0.0 < $1.0 }.map(\.1)
        self.ra = ra
    }

    /// Message `index`: device `index % keys`, a fresh transactionID and nonce.
    func make(_ index: Int) throws -> Enrollment {
        let device = devices[index % devices.count]
        let transactionID = randomHex(16)
        let nonce = (0..<16).map { _ in UInt8.random(in: .min ... .max) }
        let body = try SCEPMessages.pkcsReq(device: device, ra: ra, transactionID: transactionID, senderNonce: nonce)
        return Enrollment(device: device, transactionID: transactionID, senderNonce: nonce, body: body)
    }

    /// `count` messages made on `threads` threads, in index order.
    func make(count: Int, threads: Int) throws -> [Enrollment] {
        let counter = WorkCounter()
        let made = Collector<(Int, Enrollment)>()
        let failures = Collector<String>()
        runThreads(max(1, threads), cpu: nil) { _ in
            var local: [(Int, Enrollment)] = []
            while failures.all.isEmpty {
                let index = counter.take()
                guard index < count else { break }
                do { local.append((index, try self.make(index))) } catch { failures.append(["message \(index): \(error)"]) }
            }
            made.append(local)
        }
        if let failure = failures.all.first { throw BenchError(failure) }
        return made.all.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
