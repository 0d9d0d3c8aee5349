import Foundation

/// The rows `InventorySeeder` loads, as CSV lines, each a pure function of
/// its index: certificate `k` is the same in the certificates, enrollments
/// and revocations passes. Values follow what Scepter itself writes (serials
/// as lowercase hex, SANs as `DNS:…`, outcome labels of SPEC §6, enrollment
/// reasons `issued by <issuer>`).
struct RowGenerator: Sendable {
    static let certificateColumns = [
        "serial", "issuer", "profile", "subject", "sans", "not_before", "not_after", "status", "transaction_id", "device_id", "der", "created_at",
    ]
    static let enrollmentColumns = ["profile", "transaction_id", "message_type", "status", "serial", "outcome", "reason", "csr_sha256", "created_at"]
    static let revocationColumns = ["serial", "issuer", "revoked_at", "reason", "actor", "invalidity_date"]
    static let auditColumns = [
        "id", "time", "edge", "source_ip", "profile", "operation", "message_type", "transaction_id", "outcome", "fail_info", "claim_sub", "claim_iss",
        "device_name", "csr_subject", "csr_sans", "serial", "latency_ms", "details", "provisional",
    ]

    let profiles: [InventorySeeder.Profile]
    /// Seconds since 1970.
    let now: Double
    let seed: UInt64
    let certificates: Int
    let revoked: Int
    /// Audit events: they are spread evenly over 400 days.
    let audit: Int
    /// `\x…` hex of the template certificate.
    let derHex: [UInt8]

    private static let day = 86_400.0
    /// Certificates are issued over this many days before `now`, each valid for a year.
    private static let issuanceDays = 3 * 365.0
    private static let validityDays = 365.0
    /// Audit events span this many days before `now` (a 400-day retention).
    private static let auditDays = 400.0

    /// A device renews over the years, so there are fewer devices than certificates.
    private var devices: Int { max(1, certificates * 2 / 5) }

    init(profiles: [InventorySeeder.Profile], now: Double, seed: UInt64, certificates: Int, revoked: Int, audit: Int, derHex: [UInt8]) {
        self.profiles = profiles
        self.now = now
        self.seed = seed
        self.certificates = certificates
        self.revoked = revoked
        self.audit = audit
        self.derHex = derHex
    }

    // MARK: Certificates

    private struct Certificate {
        var index: Int
        var profile: InventorySeeder.Profile
        var device: Int
        var createdAt: Double
        var notBefore: Double
        var notAfter: Double
    }

    private func certificateFacts(_ k: Int) -> Certificate {
        let span = Self.issuanceDays * Self.day
        let createdAt = now - span + (Double(k) + unit(k, 1)) / Double(max(1, certificates)) * span
        let notBefore = (createdAt - 300).rounded(.down)
        return Certificate(
            index: k, profile: pickProfile(hash(k, 2)), device: Int(hash(k, 3) % UInt64(devices)), createdAt: createdAt, notBefore: notBefore,
            notAfter: notBefore + Self.validityDays * Self.day)
    }

    /// Certificate `k` is revoked when it is the `j`-th of `revoked` spread evenly over the inventory.
    private func isRevoked(_ k: Int) -> Bool {
        guard revoked > 0 else { return false }
        let j = (k * revoked + certificates - 1) / certificates
        return j < revoked && revokedCertificate(j) == k
    }

    private func revokedCertificate(_ j: Int) -> Int { j * certificates / revoked }

    private func serial(_ k: Int, into buffer: inout [UInt8]) {
        // 12 random bytes, then the index: unique, and as random in the key as a real serial.
        var first = hash(k, 4)
        first = (first & 0x7FFF_FFFF_FFFF_FFFF) | 0x1000_0000_0000_0000
        appendHex(first, digits: 16, into: &buffer)
        appendHex(hash(k, 5) >> 32, digits: 8, into: &buffer)
        appendHex(UInt64(k), digits: 8, into: &buffer)
    }

    func certificate(_ k: Int, into buffer: inout [UInt8]) {
        let facts = certificateFacts(k)
        serial(k, into: &buffer)
        comma(&buffer)
        append(facts.profile.issuer, &buffer)
        comma(&buffer)
        append(facts.profile.name, &buffer)
        comma(&buffer)
        append("\"CN=", &buffer)
        deviceName(facts.device, into: &buffer)
        append(",O=Example Corp\",DNS:", &buffer)
        deviceHost(facts.device, into: &buffer)
        comma(&buffer)
        timestamp(facts.notBefore, into: &buffer)
        comma(&buffer)
        timestamp(facts.notAfter, into: &buffer)
        comma(&buffer)
        let status: String
        if isRevoked(k) {
            status = "revoked"
        } else if facts.createdAt < now - 330 * Self.day && hash(k, 6) % 10 < 4 {
            status = "superseded"
        } else {
            status = "active"
        }
        append(status, &buffer)
        comma(&buffer)
        appendHex(hash(k, 7), digits: 16, into: &buffer)
        appendHex(hash(k, 8), digits: 16, into: &buffer)
        appendHex(hash(k, 9) >> 32, digits: 8, into: &buffer)
        comma(&buffer)
        if facts.profile.intune { deviceID(facts.device, into: &buffer) }
        comma(&buffer)
        buffer.append(contentsOf: derHex)
        comma(&buffer)
        timestamp(facts.createdAt, into: &buffer)
        buffer.append(10)
    }

    func enrollment(_ k: Int, into buffer: inout [UInt8]) {
        let facts = certificateFacts(k)
        append(facts.profile.name, &buffer)
        comma(&buffer)
        appendHex(hash(k, 7), digits: 16, into: &buffer)
        appendHex(hash(k, 8), digits: 16, into: &buffer)
        appendHex(hash(k, 9) >> 32, digits: 8, into: &buffer)
        append(hash(k, 10) % 10 < 2 ? ",RenewalReq,issued," : ",PKCSReq,issued,", &buffer)
        serial(k, into: &buffer)
        append(",success,issued by ", &buffer)
        append(facts.profile.issuer, &buffer)
        comma(&buffer)
        for salt in 11...14 { appendHex(hash(k, UInt64(salt)), digits: 16, into: &buffer) }
        comma(&buffer)
        timestamp(facts.createdAt, into: &buffer)
        buffer.append(10)
    }

    func revocation(_ j: Int, into buffer: inout [UInt8]) {
        let k = revokedCertificate(j)
        let facts = certificateFacts(k)
        serial(k, into: &buffer)
        comma(&buffer)
        append(facts.profile.issuer, &buffer)
        comma(&buffer)
        let end = min(now, facts.notAfter)
        let revokedAt = facts.createdAt + unit(k, 15) * (end - facts.createdAt)
        timestamp(revokedAt, into: &buffer)
        comma(&buffer)
        let roll = hash(k, 16) % 100
        let reason =
            facts.profile.intune && roll < 60 ? "privilegeWithdrawn"
            : roll < 75 ? "cessationOfOperation" : roll < 85 ? "superseded" : roll < 90 ? "keyCompromise" : roll < 95 ? "affiliationChanged" : "unspecified"
        append(reason, &buffer)
        comma(&buffer)
        append(reason == "privilegeWithdrawn" ? "intune" : "ops@example.com", &buffer)
        comma(&buffer)
        if reason == "keyCompromise" { timestamp(revokedAt - 86_400, into: &buffer) }
        buffer.append(10)
    }

    // MARK: Audit events

    /// PKIOperation outcomes and their shares of the audit log (the rest is `success`).
    private static let failures: [(label: String, share: Double, failInfo: String?, details: String)] = [
        ("pending", 0.010, nil, ""),
        ("challenge_invalid", 0.020, "badRequest", "challenge password does not match the profile's"),
        ("malformed", 0.008, "badRequest", "not a SCEP PKIMessage: SignedData does not parse"),
        ("replay", 0.004, "badRequest", "transaction already answered for another CSR"),
        ("expired", 0.004, "badTime", "Intune challenge expired 2 h ago"),
        ("claim_mismatch", 0.004, "badRequest", "CSR subject does not match the challenge's device"),
        ("rate_limited", 0.004, "badRequest", "device is over the profile's rate limit"),
        ("signature_invalid", 0.003, "badMessageCheck", "request signature does not verify"),
        ("compliance_failed", 0.004, "badRequest", "Intune reports the device non-compliant"),
        ("intune_rejected", 0.002, "badRequest", "Intune validation answered Failure"),
        ("policy_violation", 0.002, "badRequest", "RSA-1024 is below the profile's minimum key size"),
        ("renewal_invalid", 0.001, "badMessageCheck", "renewal signer certificate is revoked"),
        ("unavailable", 0.002, nil, "control plane unreachable: connection refused"),
    ]

    func audit(_ j: Int, into buffer: inout [UInt8]) {
        let span = Self.auditDays * Self.day
        let time = now - span + (Double(j) + unit(j, 100)) / Double(max(1, audit)) * span
        uuid(j, into: &buffer)
        comma(&buffer)
        timestamp(time, into: &buffer)
        append(",edge-", &buffer)
        buffer.append(97 + UInt8(hash(j, 102) % 4))
        append(",10.", &buffer)
        let address = hash(j, 103)
        append(String(address & 63), &buffer)
        buffer.append(46)
        append(String((address >> 8) & 255), &buffer)
        buffer.append(46)
        append(String((address >> 16) & 255), &buffer)
        comma(&buffer)
        let profile = pickProfile(hash(j, 104))
        append(profile.name, &buffer)
        comma(&buffer)
        let device = Int(hash(j, 105) % UInt64(max(devices, 1000)))
        let operationRoll = hash(j, 106) % 10_000
        if operationRoll < 8 {
            // An admin or Intune revocation, audited by the control plane.
            let intune = profile.intune && operationRoll < 4
            append(intune ? "intune-revocation,,,success,,,,,,," : "revoke,,,success,,,,,,,", &buffer)
            appendHex(hash(j, 107), digits: 16, into: &buffer)
            appendHex(hash(j, 108), digits: 16, into: &buffer)
            append(intune ? ",0,Intune reported the device retired,false\n" : ",0,revoked by ops@example.com: cessationOfOperation,false\n", &buffer)
            return
        }
        append("PKIOperation,", &buffer)
        var roll = unit(j, 109)
        var failure: (label: String, share: Double, failInfo: String?, details: String)?
        for candidate in Self.failures {
            if roll < candidate.share {
                failure = candidate
                break
            }
            roll -= candidate.share
        }
        if failure?.label == "pending" && !profile.intune { failure = nil }
        let messageRoll = hash(j, 110) % 100
        let messageType = failure?.label == "malformed" ? "" : messageRoll < 85 ? "PKCSReq" : messageRoll < 95 ? "RenewalReq" : "CertPoll"
        append(messageType, &buffer)
        comma(&buffer)
        if failure?.label != "malformed" {
            appendHex(hash(j, 111), digits: 16, into: &buffer)
            appendHex(hash(j, 112), digits: 16, into: &buffer)
            appendHex(hash(j, 113) >> 32, digits: 8, into: &buffer)
        }
        comma(&buffer)
        append(failure?.label ?? "success", &buffer)
        comma(&buffer)
        append(failure?.failInfo ?? "", &buffer)
        comma(&buffer)
        let described = failure?.label != "malformed"
        if profile.intune && described {
            deviceID(device, into: &buffer)
            append(",https://sts.windows.net/3f6e0c7a-2b1d-4c9e-8a5f-0d4b6e9c1a27/,", &buffer)
            deviceName(device, into: &buffer)
            comma(&buffer)
        } else {
            append(",,,", &buffer)
        }
        if described {
            append("CN=", &buffer)
            deviceName(device, into: &buffer)
            append(",DNS:", &buffer)
            deviceHost(device, into: &buffer)
        } else {
            comma(&buffer)
        }
        comma(&buffer)
        if failure == nil {
            appendHex(hash(j, 114), digits: 16, into: &buffer)
            appendHex(hash(j, 115), digits: 16, into: &buffer)
        }
        comma(&buffer)
        let latency = failure == nil ? 15 + unit(j, 116) * 120 : 1 + unit(j, 116) * 9
        append(String(Int(latency * 1000)), &buffer)
        append(".0e-3,\"", &buffer)
        append(failure?.details ?? "", &buffer)
        append("\",false\n", &buffer)
    }

    // MARK: Values

    private func pickProfile(_ hash: UInt64) -> InventorySeeder.Profile {
        var roll = Double(hash >> 11) / Double(1 << 53)
        let total = profiles.reduce(0) { $0 + $1.weight }
        roll *= total
        for profile in profiles {
            if roll < profile.weight { return profile }
            roll -= profile.weight
        }
        return profiles[profiles.count - 1]
    }

    /// `DESKTOP-…`, seven base-36 characters, from the device number.
    private func deviceName(_ device: Int, into buffer: inout [UInt8]) {
        append("DESKTOP-", &buffer)
        base36(device, upper: true, into: &buffer)
    }

    private func deviceHost(_ device: Int, into buffer: inout [UInt8]) {
        append("desktop-", &buffer)
        base36(device, upper: false, into: &buffer)
        append(".corp.example.com", &buffer)
    }

    private func base36(_ device: Int, upper: Bool, into buffer: inout [UInt8]) {
        var value = mix(UInt64(device) &+ seed) % 78_364_164_096  // 36^7
        for _ in 0..<7 {
            let digit = UInt8(value % 36)
            value /= 36
            buffer.append(digit < 10 ? 48 + digit : (upper ? 55 : 87) + digit)
        }
    }

    /// The Intune device id (the claim's subject), a UUID from the device number.
    private func deviceID(_ device: Int, into buffer: inout [UInt8]) {
        uuid(device, salt: 200, into: &buffer)
    }

    private func uuid(_ index: Int, salt: UInt64 = 120, into buffer: inout [UInt8]) {
        let high = hash(index, salt)
        let low = hash(index, salt + 1)
        appendHex(high >> 32, digits: 8, into: &buffer)
        buffer.append(45)
        appendHex((high >> 16) & 0xFFFF, digits: 4, into: &buffer)
        buffer.append(45)
        appendHex(0x4000 | (high & 0x0FFF), digits: 4, into: &buffer)
        buffer.append(45)
        appendHex(0x8000 | ((low >> 48) & 0x3FFF), digits: 4, into: &buffer)
        buffer.append(45)
        appendHex(low & 0xFFFF_FFFF_FFFF, digits: 12, into: &buffer)
    }

    /// `2026-11-30 10:00:00.123+00`, as PostgreSQL reads a timestamptz.
    private func timestamp(_ seconds: Double, into buffer: inout [UInt8]) {
        let milliseconds = Int64((seconds * 1000).rounded(.down))
        let secondsOfEpoch = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let days = secondsOfEpoch >= 0 ? secondsOfEpoch / 86_400 : (secondsOfEpoch - 86_399) / 86_400
        let secondOfDay = secondsOfEpoch - days * 86_400
        // Howard Hinnant's civil_from_days: the arithmetic of the server's
        // `CivilTime` (Sources/Protocol/Time), written again on purpose, since
        // this package runs the server as a binary and links none of its modules.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        decimal(year, 4, &buffer)
        buffer.append(45)
        decimal(month, 2, &buffer)
        buffer.append(45)
        decimal(day, 2, &buffer)
        buffer.append(32)
        decimal(secondOfDay / 3600, 2, &buffer)
        buffer.append(58)
        decimal(secondOfDay / 60 % 60, 2, &buffer)
        buffer.append(58)
        decimal(secondOfDay % 60, 2, &buffer)
        buffer.append(46)
        decimal(milliseconds - secondsOfEpoch * 1000, 3, &buffer)
        append("+00", &buffer)
    }

    private func decimal(_ value: Int64, _ digits: Int, _ buffer: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<digits { divisor *= 10 }
        var value = value
        while divisor > 0 {
            buffer.append(48 + UInt8(value / divisor % 10))
            value %= divisor
            divisor /= 10
        }
    }

    private func appendHex(_ value: UInt64, digits: Int, into buffer: inout [UInt8]) {
        var shift = (digits - 1) * 4
        while shift >= 0 {
            buffer.append(hexDigit(UInt8((value >> UInt64(shift)) & 15)))
            shift -= 4
        }
    }

    private func append(_ text: String, _ buffer: inout [UInt8]) { buffer.append(contentsOf: text.utf8) }
    private func comma(_ buffer: inout [UInt8]) { buffer.append(44) }

    /// A uniform value in [0, 1) for (index, salt).
    private func unit(_ index: Int, _ salt: UInt64) -> Double { Double(hash(index, salt) >> 11) / Double(1 << 53) }

    private func hash(_ index: Int, _ salt: UInt64) -> UInt64 { mix(UInt64(bitPattern: Int64(index)) &* 0x9E37_79B9_7F4A_7C15 &+ salt &* 0xBF58_476D_1CE4_E5B9 &+ seed) }

    /// SplitMix64's finalizer.
    private func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
