import ScepterTesting
import Foundation
import ScepterProtocol
import Testing

@Suite("Intune gate 6: CSR binding", .timeLimit(.minutes(5)))
struct IntuneBindingGateTests {
    private typealias Validation = Result<IntuneClaim, Refusal>

    private let fixture: IntuneFixture

    init() throws {
        fixture = try IntuneFixture.get()
    }

    /// One SAN dimension: its claim name and how to set it on a CSR identity.
    enum Dimension: String, CaseIterable, Sendable {
        case dns = "san_dns"
        case rfc822 = "san_rfc822"
        case upn = "san_upn"

        var label: String {
            switch self {
            case .dns: "SAN DNS"
            case .rfc822: "SAN RFC 822"
            case .upn: "SAN UPN"
            }
        }

        func set(_ values: [String], on csr: inout IntuneValidator.CSRIdentity) {
            switch self {
            case .dns: csr.dnsNames = values
            case .rfc822: csr.rfc822Names = values
            case .upn: csr.upns = values
            }
        }
    }

    private func validate(claims: [String: Any], csr: IntuneValidator.CSRIdentity, policy: IntuneValidator.Policy? = nil) throws -> Validation {
        let challenge = try ChallengeMinter(fixture.rsa).mint(claims: claims)
        var validator = try fixture.validator()
        if let policy { validator.policy = policy }
        return validator.validate(challenge, csr: csr, now: IntuneFixture.now)
    }

    /// Claims and CSR with only one dimension set (the others empty on both sides).
    private func outcome(_ dimension: Dimension, claim: [String]?, csr values: [String]) throws -> Validation {
        var claims = IntuneFixture.claims()
        for other in Dimension.allCases {
            claims[other.rawValue] = nil
        }
        claims[dimension.rawValue] = claim
        var csr = IntuneFixture.csr
        for other in Dimension.allCases {
            other.set([], on: &csr)
        }
        dimension.set(values, on: &csr)
        return try validate(claims: claims, csr: csr)
    }

    @Test("Equal sets pass regardless of case, order and duplicates", arguments: Dimension.allCases)
    func equalSets(dimension: Dimension) throws {
        let claim = ["a.corp.example", "B.corp.example"]
        for csr in [
            claim, ["b.corp.example", "A.CORP.example"], ["a.corp.example", "b.corp.example", "A.corp.example"],
        ] {
            #expect(throws: Never.self) { try outcome(dimension, claim: claim, csr: csr).get() }
        }
        #expect(throws: Never.self) {
            try outcome(dimension, claim: ["x.example", "X.example"], csr: ["x.EXAMPLE"]).get()
        }
    }

    @Test(
        "An extra or a missing value is claim_mismatch naming the dimension and values",
        arguments: Dimension.allCases
    )
    func unequalSets(dimension: Dimension) throws {
        let claim = ["a.corp.example", "b.corp.example"]

        let extra = try outcome(dimension, claim: claim, csr: claim + ["evil.example"]).refusal
        #expect(extra?.outcome == .claimMismatch)
        #expect(extra?.reason == #"\#(dimension.label) CSR has ["evil.example"] not in the claim"#)

        let missing = try outcome(dimension, claim: claim, csr: ["a.corp.example"]).refusal
        #expect(missing?.outcome == .claimMismatch)
        #expect(missing?.reason == #"\#(dimension.label) CSR lacks ["b.corp.example"] from the claim"#)

        let empty = try outcome(dimension, claim: claim, csr: []).refusal
        #expect(empty?.outcome == .claimMismatch)
    }

    @Test("An empty or absent claim dimension allows no value of it (SPEC §5.1 gate 6)", arguments: Dimension.allCases)
    func emptyDimensionAllowsNothing(dimension: Dimension) throws {
        for claim in [nil, [String]()] {
            let stretched = try outcome(dimension, claim: claim, csr: ["anything.example"]).refusal
            #expect(stretched?.outcome == .claimMismatch)
            #expect(stretched?.reason == #"\#(dimension.label) CSR has ["anything.example"] not in the claim"#)
            #expect(throws: Never.self) { try outcome(dimension, claim: claim, csr: []).get() }
        }
    }

    @Test(
        "SANs no claim binds are refused unless ALLOWED_SAN_TYPES lists their type",
        arguments: [
            (IntuneValidator.SANType.uri, "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1-2-3-500"),
            (.ip, "10.0.0.1"), (.other, "otherName:1.3.6.1.5.2.2"), (.other, "dirName:CN=Domain Admins"),
        ])
    func unboundSANs(_ san: (IntuneValidator.SANType, String)) throws {
        var csr = IntuneFixture.csr
        csr.unbound = [san]
        let refusal = try validate(claims: IntuneFixture.claims(), csr: csr).refusal
        #expect(refusal?.outcome == .claimMismatch)
        #expect(refusal?.reason.contains("which no claim binds (ALLOWED_SAN_TYPES is dns,email,upn)") == true, "\(refusal?.reason ?? "")")
        // Allowed explicitly, the same CSR passes the gate.
        var policy = IntuneValidator.Policy()
        policy.allowedSANTypes.insert(san.0)
        #expect(throws: Never.self) { try validate(claims: IntuneFixture.claims(), csr: csr, policy: policy).get() }
    }

    @Test("Only one CN: a second CN is refused even when the first equals device_name")
    func oneCommonName() throws {
        var csr = IntuneFixture.csr
        csr.commonNames = ["LAPTOP-0042", "Administrator"]
        let refusal = try validate(claims: IntuneFixture.claims(), csr: csr).refusal
        #expect(refusal?.outcome == .claimMismatch)
        #expect(refusal?.reason.contains("CSR has 2 CNs") == true)
    }

    @Test("CN must equal device_name, case-insensitively")
    func commonName() throws {
        var csr = IntuneFixture.csr
        csr.commonName = "laptop-0042"
        #expect(throws: Never.self) { try validate(claims: IntuneFixture.claims(), csr: csr).get() }

        csr.commonName = "LAPTOP-0043"
        let refusal = try validate(claims: IntuneFixture.claims(), csr: csr).refusal
        #expect(refusal?.outcome == .claimMismatch)
        #expect(refusal?.reason == #"CN "LAPTOP-0043" differs from device_name "LAPTOP-0042""#)

        csr.commonName = nil
        #expect(try validate(claims: IntuneFixture.claims(), csr: csr).refusal?.outcome == .claimMismatch)
    }

    @Test("Without device_name the CSR may carry no CN: nothing would bind it (SPEC §5.1 gate 6)")
    func noDeviceName() throws {
        for deviceName: Any? in [nil, ""] {
            var claims = IntuneFixture.claims()
            claims["device_name"] = deviceName
            var csr = IntuneFixture.csr
            csr.commonName = nil
            #expect(throws: Never.self) { try validate(claims: claims, csr: csr).get() }

            for commonName in ["whatever", "LAPTOP-0042", ""] {
                csr.commonName = commonName
                let refusal = try validate(claims: claims, csr: csr).refusal
                #expect(refusal?.outcome == .claimMismatch)
                #expect(
                    refusal?.reason == "CSR has CN \"\(commonName)\" but the claim has no device_name to bind it",
                    "\(refusal?.reason ?? "")")
            }
        }
    }

    @Test("Every differing dimension is reported in one reason")
    func severalMismatches() throws {
        let csr = IntuneValidator.CSRIdentity(
            commonName: "OTHER",
            dnsNames: ["laptop-0042.corp.example"],
            rfc822Names: ["mallory@corp.example"],
            upns: []
        )
        let refusal = try validate(claims: IntuneFixture.claims(), csr: csr).refusal
        #expect(refusal?.outcome == .claimMismatch)
        let reason = refusal?.reason ?? ""
        #expect(reason.contains("CN \"OTHER\""))
        #expect(!reason.contains("SAN DNS"))
        #expect(
            reason.contains(
                #"SAN RFC 822 CSR has ["mallory@corp.example"] not in the claim and CSR lacks ["alice@corp.example"]"#
            )
        )
        #expect(reason.contains(#"SAN UPN CSR lacks ["alice@corp.example"]"#))
    }

    @Test("Values in a reason are escaped and bounded")
    func hostileValues() throws {
        var csr = IntuneFixture.csr
        csr.dnsNames =
            ["laptop-0042.corp.example"] + (0..<50).map { "x\($0)\n.example" + String(repeating: "y", count: 500) }
        let refusal = try validate(claims: IntuneFixture.claims(), csr: csr).refusal
        #expect(refusal?.outcome == .claimMismatch)
        let reason = refusal?.reason ?? ""
        #expect(!reason.contains("\n"))
        #expect(reason.contains("and 42 more"))
        #expect(reason.count < 2_000)
    }
}
