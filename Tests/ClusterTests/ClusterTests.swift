import Crypto
import Foundation
import NIOHTTP1
import ScepterProtocol
import ScepterTesting
import SwiftASN1
import Testing
import X509

/// Two edges and a control plane on loopback sharing Redis and PostgreSQL
/// (SPEC §1, §3, §7): cluster-wide single use of challenges, rate limits
/// across edges, idempotent transactions and one audit row per request.
@Suite("Cluster: edges sharing state", .serialized, .timeLimit(.minutes(10)))
struct ClusterTests {
    /// Runs `body` against a fresh cluster and stops it afterwards; on failure
    /// the processes' logs go into the test's issues.
    static func withCluster(
        edges: Int = 2, environment: [String: String] = [:], databaseURL: String? = nil, _ body: (TestCluster) async throws -> Void
    ) async throws {
        let cluster = try await TestCluster.start(edges: edges, environment: environment, databaseURL: databaseURL)
        do {
            try await body(cluster)
        } catch {
            Issue.record("cluster logs:\n\(cluster.logs)")
            await cluster.shutdown()
            throw error
        }
        await cluster.shutdown()
    }

    @Test("The same Intune challenge sent to both edges at once issues exactly one certificate, every time")
    func sameChallengeAtBothEdgesIssuesOnce() async throws {
        try await Self.withCluster { cluster in
            let rounds = 8
            var transactions: [String] = []
            for round in 0..<rounds {
                let name = "LAPTOP-\(round)"
                let challenge = try cluster.mintChallenge(sub: UUID().uuidString, name: name)
                let first = try TestCluster.device(name: name, challenge: challenge)
                let second = try TestCluster.device(name: name, challenge: challenge)
                let (firstID, secondID) = ("race-\(round)-a-\(UUID())", "race-\(round)-b-\(UUID())")
                transactions += [firstID, secondID]
                let firstMessage = try first.pkcsReq(ra: cluster.ra, transactionID: firstID)
                let secondMessage = try second.pkcsReq(ra: cluster.ra, transactionID: secondID)

                async let toEdge0 = cluster.pkiOperation(firstMessage, edge: 0)
                async let toEdge1 = cluster.pkiOperation(secondMessage, edge: 1)
                let answers = try await [toEdge0, toEdge1]
                #expect(answers.map(\.status) == [200, 200])
                let replies = [try TestCluster.reply(answers[0], device: first), try TestCluster.reply(answers[1], device: second)]
                #expect(replies.filter { $0.status == .success }.count == 1, "round \(round): \(replies.map(\.status))")
                #expect(replies.filter { $0.status == .failure && $0.failInfo == .badRequest }.count == 1)
            }

            #expect(try await cluster.waitForAudit(2 * rounds) == 2 * rounds)
            #expect(try await cluster.count("SELECT count(*) FROM certificates") == rounds)
            let outcomes = try await cluster.sql("SELECT outcome, count(*) FROM audit_events GROUP BY outcome ORDER BY outcome")
            #expect(outcomes == [["replay", "\(rounds)"], ["success", "\(rounds)"]])
            // One row per request, each naming its transaction.
            let audited = try await cluster.sql("SELECT transaction_id FROM audit_events").map { $0[0] }
            #expect(audited.sorted() == transactions.sorted())
            // Each certificate's audit row is the edge's (the provisional row was replaced).
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE provisional") == 0)
            let edges = try await cluster.sql("SELECT DISTINCT edge FROM audit_events ORDER BY edge").map { $0[0] }
            #expect(edges == ["edge-0", "edge-1"])
        }
    }

    @Test("A device's fourth enrollment within 24 hours is rate_limited, whichever edge it reaches")
    func rateLimitHoldsAcrossEdges() async throws {
        try await Self.withCluster { cluster in
            let sub = UUID().uuidString
            var statuses: [PKIStatus] = []
            var lastTransaction = ""
            for attempt in 0..<4 {
                let challenge = try cluster.mintChallenge(sub: sub, name: "LAPTOP-RL")
                let device = try TestCluster.device(name: "LAPTOP-RL", challenge: challenge)
                lastTransaction = "rate-\(attempt)-\(UUID())"
                let answer = try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra, transactionID: lastTransaction), edge: attempt % 2)
                statuses.append(try TestCluster.reply(answer, device: device).status)
            }
            #expect(statuses == [.success, .success, .success, .failure])
            #expect(try await cluster.waitForAudit(4) == 4)
            let outcome = try await cluster.sql("SELECT outcome, fail_info, claim_sub FROM audit_events WHERE transaction_id = '\(lastTransaction)'")
            #expect(outcome == [["rate_limited", "badRequest", sub]])
        }
    }

    @Test("The same PKIMessage sent twice, also to two edges at once, yields one certificate")
    func samePKIMessageToBothEdgesIsIdempotent() async throws {
        try await Self.withCluster { cluster in
            let device = try TestDevice(commonName: "printer-7", challenge: TestCluster.staticPassword)
            let transaction = "same-message-\(UUID())"
            let message = try device.pkcsReq(ra: cluster.ra, transactionID: transaction)
            async let toEdge0 = cluster.pkiOperation(message, edge: 0)
            async let toEdge1 = cluster.pkiOperation(message, edge: 1)
            let concurrent = try await [toEdge0, toEdge1]
            let again = try await cluster.pkiOperation(message, edge: 1)
            let replies = try (concurrent + [again]).map { try TestCluster.reply($0, device: device) }
            #expect(replies.map(\.status) == [.success, .success, .success])
            let issued = Set(replies.compactMap(\.certificates.first))
            #expect(issued.count == 1, "every answer carries the same certificate")

            #expect(try await cluster.count("SELECT count(*) FROM certificates WHERE transaction_id = '\(transaction)'") == 1)
            #expect(try await cluster.waitForAudit(3) == 3, "one audit row per request")
            let serials = try await cluster.sql("SELECT DISTINCT serial FROM audit_events WHERE transaction_id = '\(transaction)'")
            #expect(serials.count == 1)
        }
    }

    @Test("An Intune transaction retransmitted to another edge gets its original answer, not replay")
    func intuneRetransmissionGetsItsAnswer() async throws {
        try await Self.withCluster { cluster in
            let challenge = try cluster.mintChallenge(sub: UUID().uuidString, name: "LAPTOP-RT")
            let device = try TestCluster.device(name: "LAPTOP-RT", challenge: challenge)
            let message = try device.pkcsReq(ra: cluster.ra, transactionID: "retransmit-\(UUID())")
            let first = try TestCluster.reply(try await cluster.pkiOperation(message, edge: 0), device: device)
            let second = try TestCluster.reply(try await cluster.pkiOperation(message, edge: 1), device: device)
            #expect(first.status == .success)
            #expect(second.status == .success)
            #expect(first.certificates.first == second.certificates.first)
            #expect(try await cluster.waitForAudit(2) == 2)
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE outcome = 'success'") == 2)
        }
    }

    @Test("Issuance that outlasts the edge's wait budget answers PENDING, and CertPoll through another edge gets the certificate")
    func slowIssuanceIsPendingThenPolled() async throws {
        try await Self.withCluster(environment: ["SCEPTER_EDGE_WAIT_BUDGET": "1s"]) { cluster in
            // Hold the enrollments table so the control plane's issuance waits ~5 s.
            let holder = try await cluster.holdEnrollmentsLock(seconds: 5)

            let device = try TestDevice(commonName: "slow-device", challenge: TestCluster.staticPassword)
            let signer = try device.signer.keyPair()
            // Clients send base64 transactionIDs (micromdm's hold +, / and =); others spaces or
            // non-ASCII: they cross the internal API intact.
            let transaction = "pending+/= ü-" + UUID().uuidString
            let enrolled = try TestCluster.reply(try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra, transactionID: transaction), edge: 0), device: device)
            #expect(enrolled.status == .pending)
            _ = try await holder.value

            let ca = try Certificate(pemEncoded: cluster.caPEM)
            var coder = DER.Serializer()
            try coder.serialize(IssuerAndSubject(issuer: ca.subject, subject: try DistinguishedName { CommonName("slow-device") }))
            let poll = try SCEPClient.request(.certPoll, content: coder.serializedBytes, transactionID: transaction, recipient: cluster.ra, signer: signer)
            var polled = try TestCluster.reply(try await cluster.pkiOperation(poll, edge: 1), device: device)
            for _ in 0..<60 where polled.status == .pending {
                try await Task.sleep(for: .milliseconds(500))
                polled = try TestCluster.reply(try await cluster.pkiOperation(poll, edge: 1), device: device)
            }
            #expect(polled.status == .success)
            let issued = try #require(polled.certificates.first)
            #expect(try Certificate(derEncoded: issued).subject.description.contains("slow-device"))
            #expect(try await cluster.count("SELECT count(*) FROM certificates WHERE transaction_id = '\(transaction)'") == 1)
            let outcomes = try await cluster.sql("SELECT outcome FROM audit_events WHERE transaction_id = '\(transaction)' AND NOT provisional ORDER BY time")
            #expect(outcomes.map { $0[0] }.first == "pending")
        }
    }

    @Test("micromdm's client: PENDING through one edge, then its CertPoll through the other edge gets the certificate")
    func micromdmPendingThenPolledThroughTheOtherEdge() async throws {
        try await InteropClient.ensureBuilt()
        try await Self.withCluster(environment: ["SCEPTER_EDGE_WAIT_BUDGET": "1s"]) { cluster in
            let directory = try Shell.temporaryDirectory()
            let key = directory.appendingPathComponent("pending.key").path
            let certificate = directory.appendingPathComponent("pending.pem").path
            // A base64 transactionID as micromdm's library makes them: +, / and =.
            let transaction = "mdm+pending/\(UUID().uuidString.prefix(8))=="
            let holder = try await cluster.holdEnrollmentsLock(seconds: 5)
            let enrolled = try await Shell.run(InteropClient.binary, [
                "-url", cluster.scepURL(edge: 0), "-challenge", TestCluster.staticPassword, "-cn", "mdm-pending", "-txid", transaction,
                "-key-out", key, "-strict",
            ])
            let first = try JSONDecoder().decode(InteropClient.Report.self, from: Data((enrolled.stdout.split(separator: "\n").last ?? "").utf8))
            #expect(first.pkiStatus == "PENDING", "\(enrolled.stdout)\(enrolled.stderr)")
            _ = try await holder.value

            var polled: InteropClient.Report?
            for _ in 0..<40 {
                let run = try await Shell.run(InteropClient.binary, [
                    "-url", cluster.scepURL(edge: 1), "-op", "poll", "-cn", "mdm-pending", "-txid", transaction, "-key-in", key,
                    "-cert-out", certificate, "-strict",
                ])
                polled = try? JSONDecoder().decode(InteropClient.Report.self, from: Data((run.stdout.split(separator: "\n").last ?? "").utf8))
                if polled?.pkiStatus != "PENDING" { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(polled?.pkiStatus == "SUCCESS", "\(String(describing: polled))")
            let caPath = directory.appendingPathComponent("ca.pem").path
            try cluster.caPEM.write(toFile: caPath, atomically: true, encoding: .utf8)
            let verify = try await Shell.run("/usr/bin/openssl", ["verify", "-CAfile", caPath, certificate])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
    }

    @Test("certmonger reads a PENDING answer as the CA working on it (not as an unreachable CA), and gets its certificate once issued")
    func certmongerReadsPending() async throws {
        try Certmonger.requireInstalled()
        try await Self.withCluster(environment: ["SCEPTER_EDGE_WAIT_BUDGET": "1s"]) { cluster in
            let work = try Shell.temporaryDirectory()
            // Held until certmonger has seen the PENDING (the script ends the holding session), at most 60 s.
            let holder = try await cluster.holdEnrollmentsLock(seconds: 60)
            let run = try await Certmonger.run(
                Certmonger.addCA(cluster.scepURL(edge: 0)) + Certmonger.request("cm-pending", challenge: TestCluster.staticPassword, in: work)
                    + """
                    getcert list -s -i cm-pending | grep -q 'status: CA_WORKING' && echo "== pending understood"
                    psql '\(cluster.databaseURL)' -qAt -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                      WHERE query LIKE 'BEGIN; LOCK TABLE enrollments%' AND pid <> pg_backend_pid()" >/dev/null
                    # certmonger polls a pending request on its own only much later (not within a minute);
                    # refresh makes it poll now, with the same request (GetCertInitial).
                    for attempt in $(seq 30); do
                      sleep 1
                      getcert refresh -s -i cm-pending >/dev/null
                      getcert list -s -i cm-pending | grep -q 'status: MONITORING' && break
                    done
                    getcert list -s -i cm-pending

                    """,
                in: work)
            _ = try await holder.value  // psql's exit status: terminated by the script, as meant
            let log = "\(run.output)\n\(run.log.suffix(6000))"
            #expect(run.output.contains("status: MONITORING"), "\(log)")
            let caPath = work.appendingPathComponent("ca.pem").path
            try cluster.caPEM.write(toFile: caPath, atomically: true, encoding: .utf8)
            let verify = try await Shell.openssl("verify", "-CAfile", caPath, work.appendingPathComponent("cm-pending.pem").path)
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            let rows = try await cluster.sql(
                "SELECT message_type, outcome, transaction_id FROM audit_events WHERE csr_subject = 'CN=cm-pending.example.com' AND NOT provisional ORDER BY time")
            // certmonger polls by sending its PKCSReq again (same transaction, same CSR; RFC 8894 §3.3.3 allows
            // either that or CertPoll): pending until the issuance commits, then the certificate. No second CSR,
            // no second certificate.
            #expect(rows.count >= 2 && Set(rows.map { $0[2] }).count == 1, "\(rows)")
            #expect(rows.first?.prefix(2) == ["PKCSReq", "pending"] && rows.last?.prefix(2) == ["PKCSReq", "success"], "\(rows)")
            #expect(rows.dropFirst().dropLast().allSatisfy { $0.prefix(2) == ["PKCSReq", "pending"] }, "\(rows)")
            let issued = try await cluster.sql("SELECT count(*) FROM certificates WHERE subject = 'CN=cm-pending.example.com'")
            #expect(issued == [["1"]], "\(issued)")
            #expect(run.output.contains("== pending understood"), "\(log)")
        }
    }

    @Test("The renewal limit is counted across edges: attempts through one edge count on the other")
    func renewalLimitAcrossEdges() async throws {
        try await Self.withCluster(environment: ["SCEPTER_PROFILE_CORP_RENEWAL_LIMIT": "1"]) { cluster in
            let device = try TestDevice(commonName: "renewing-host", challenge: TestCluster.staticPassword)
            let enrolled = try TestCluster.reply(try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra), edge: 0), device: device)
            let issued = try #require(enrolled.certificates.first)
            let current = try CertificateKeyPair(certificatePEM: PEM.encode(issued, label: "CERTIFICATE"), keyPEM: device.signer.keyPEM)
            func renew(edge: Int, commonName: String) async throws -> SCEPClient.Reply {
                let next = try TestDevice(commonName: commonName, challenge: nil)
                let message = try SCEPClient.request(.renewalReq, content: next.csr, transactionID: "tx-\(UUID())", recipient: cluster.ra, signer: current)
                let answer = try await cluster.pkiOperation(message, edge: edge)
                return try SCEPClient.readReply(answer.body, requester: current)
            }
            #expect(try await renew(edge: 0, commonName: "not-the-subject").failInfo == .badMessageCheck)
            let limited = try await renew(edge: 1, commonName: "renewing-host")
            #expect(limited.status == .failure)
            #expect(limited.failInfo == .badRequest)
            #expect(try await cluster.waitForAudit(3) == 3)
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE outcome = 'rate_limited' AND NOT provisional") == 1)
        }
    }

    @Test("With two control-plane replicas, a CertPoll reaching the other replica while issuance is in flight is PENDING, then SUCCESS")
    func certPollAcrossControlReplicas() async throws {
        try await Self.withCluster(edges: 1, environment: ["SCEPTER_EDGE_WAIT_BUDGET": "1s"]) { cluster in
            let replica = try await cluster.startReplica(id: "control-b")
            try await cluster.startEdge(id: "edge-b", environment: ["SCEPTER_CONTROL_URL": replica, "SCEPTER_EDGE_WAIT_BUDGET": "1s"])
            // EXCLUSIVE blocks the commit's INSERT but not the replicas' SELECTs.
            let holder = try await cluster.holdEnrollmentsLock("EXCLUSIVE", seconds: 5)

            let device = try TestDevice(commonName: "replica-device", challenge: TestCluster.staticPassword)
            let signer = try device.signer.keyPair()
            let transaction = "replicas-\(UUID())"
            let enrolled = try TestCluster.reply(try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra, transactionID: transaction), edge: 0), device: device)
            #expect(enrolled.status == .pending)

            let ca = try Certificate(pemEncoded: cluster.caPEM)
            var coder = DER.Serializer()
            try coder.serialize(IssuerAndSubject(issuer: ca.subject, subject: try DistinguishedName { CommonName("replica-device") }))
            let poll = try SCEPClient.request(.certPoll, content: coder.serializedBytes, transactionID: transaction, recipient: cluster.ra, signer: signer)
            let early = try TestCluster.reply(try await cluster.pkiOperation(poll, edge: 1), device: device)
            #expect(early.status == .pending, "the other replica knows the issuance is in flight (failInfo \(String(describing: early.failInfo)))")

            _ = try await holder.value
            var polled = early
            for _ in 0..<60 where polled.status == .pending {
                try await Task.sleep(for: .milliseconds(500))
                polled = try TestCluster.reply(try await cluster.pkiOperation(poll, edge: 1), device: device)
            }
            #expect(polled.status == .success)
            #expect(try await cluster.count("SELECT count(*) FROM certificates WHERE transaction_id = '\(transaction)'") == 1)
        }
    }

    @Test("reload-trust reaches every live edge and answers each one's result; stats show counters, anchors, edges and failures")
    func clusterWideReloadAndStats() async throws {
        try await Self.withCluster { cluster in
            let stats = cluster.controlURL("/api/v1/admin/scep/intune/stats")
            let reload = cluster.controlURL("/api/v1/admin/scep/intune/reload-trust")
            #expect(try await cluster.http(stats).status == 401)
            #expect(try await cluster.http(stats, token: "not-a-token").status == 401)
            let asViewer = try await cluster.http(reload, method: .POST, token: TestCluster.viewerToken)
            #expect(asViewer.status == 403)
            #expect(asViewer.text.contains("admin"))

            // Both edges are live once their first heartbeats are in.
            var liveEdges: [String] = []
            for _ in 0..<100 where liveEdges.count < 2 {
                let answer = try await cluster.http(stats, token: TestCluster.adminToken)
                liveEdges = Self.profile(answer)?["edges"].flatMap { $0 as? [[String: Any]] }?.compactMap { $0["id"] as? String } ?? []
                if liveEdges.count < 2 { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(liveEdges.sorted() == ["edge-0", "edge-1"])

            // A new connector replaces the old one on every edge.
            let newConnector = try TestConnector(
                .p256, commonName: "Rotated Connector", notBefore: Date().addingTimeInterval(-3600), notAfter: Date().addingTimeInterval(20 * 86_400))
            try newConnector.pem.write(to: cluster.anchorPath, atomically: true, encoding: .utf8)
            let reloaded = try await cluster.http(reload, method: .POST, token: TestCluster.adminToken)
            #expect(reloaded.status == 200)
            let edges = try #require(Self.json(reloaded)?["edges"] as? [[String: Any]])
            #expect(edges.compactMap { $0["edge"] as? String }.sorted() == ["edge-0", "edge-1"])
            #expect(edges.allSatisfy { $0["status"] as? String == "reloaded" }, "\(reloaded.text)")

            let sub = UUID().uuidString
            let fresh = try ChallengeMinter(newConnector).mint(claims: TestCluster.claims(sub: sub, name: "LAPTOP-NEW"))
            let device = try TestCluster.device(name: "LAPTOP-NEW", challenge: fresh)
            let issued = try TestCluster.reply(try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra), edge: 1), device: device)
            #expect(issued.status == .success, "a challenge of the new connector verifies")
            let stale = try cluster.mintChallenge(sub: UUID().uuidString, name: "LAPTOP-OLD")
            let oldDevice = try TestCluster.device(name: "LAPTOP-OLD", challenge: stale)
            let refused = try TestCluster.reply(try await cluster.pkiOperation(try oldDevice.pkcsReq(ra: cluster.ra), edge: 0), device: oldDevice)
            #expect(refused.status == .failure)
            #expect(refused.failInfo == .badMessageCheck, "the old connector is no longer trusted")

            // A broken bundle is refused on every edge, which keep the pool they had.
            try "not a certificate".write(to: cluster.anchorPath, atomically: true, encoding: .utf8)
            let broken = try await cluster.http(reload, method: .POST, token: TestCluster.adminToken)
            let brokenEdges = try #require(Self.json(broken)?["edges"] as? [[String: Any]])
            #expect(brokenEdges.count == 2)
            #expect(brokenEdges.allSatisfy { $0["status"] as? String == "failed" }, "\(broken.text)")
            let again = try ChallengeMinter(newConnector).mint(claims: TestCluster.claims(sub: UUID().uuidString, name: "LAPTOP-KEPT"))
            let kept = try TestCluster.device(name: "LAPTOP-KEPT", challenge: again)
            #expect(try TestCluster.reply(try await cluster.pkiOperation(try kept.pkcsReq(ra: cluster.ra), edge: 0), device: kept).status == .success)

            // Stats: counters, the anchors the edges use, agreement, the failure.
            #expect(try await cluster.waitForAudit(3) == 3)
            let answer = try await cluster.http(stats, token: TestCluster.adminToken)
            #expect(answer.status == 200)
            let corp = try #require(Self.profile(answer))
            #expect((corp["total"] as? [String: Int])?["success"] == 2)
            #expect((corp["last24h"] as? [String: Int])?["signature_invalid"] == 1)
            let anchors = try #require(corp["trustAnchors"] as? [[String: Any]])
            #expect(anchors.count == 1)
            let fingerprint = SHA256.hash(data: try newConnector.der).map { String(format: "%02x", $0) }.joined()
            #expect(anchors.first?["fingerprint"] as? String == fingerprint)
            #expect(anchors.first?["badge"] as? String == "amber", "19 days left")
            #expect(corp["edgesInAgreement"] as? Bool == true)
            let failures = try #require(corp["recentFailures"] as? [[String: Any]])
            #expect(failures.map { $0["outcome"] as? String } == ["signature_invalid"])
            // What the device asked for and from where, to hold against the Intune profile.
            #expect((failures.first?["csrSubject"] as? String)?.contains("CN=") == true, "\(failures)")
            #expect(failures.first?["sourceAddress"] as? String == "127.0.0.1", "\(failures)")
            // The reloads were audited as admin actions.
            #expect(try await cluster.count("SELECT count(*) FROM audit_events WHERE operation = 'reload-trust'") == 2)
        }
    }

    @Test("SIGHUP reloads only the edge that got it, and stats show the edges disagree until reload-trust")
    func sighupReloadsOneEdgeAndStatsShowDisagreement() async throws {
        try await Self.withCluster { cluster in
            let stats = cluster.controlURL("/api/v1/admin/scep/intune/stats")
            let rotated = try TestConnector(
                .p256, commonName: "SIGHUP Connector", notBefore: Date().addingTimeInterval(-3600), notAfter: Date().addingTimeInterval(90 * 86_400))
            try rotated.pem.write(to: cluster.anchorPath, atomically: true, encoding: .utf8)
            kill(cluster.edges[1].pid, SIGHUP)

            // Edge 1 now trusts the new connector, edge 0 still the old one.
            let challenge = try ChallengeMinter(rotated).mint(claims: TestCluster.claims(sub: UUID().uuidString, name: "LAPTOP-HUP"))
            var status: PKIStatus?
            for _ in 0..<50 where status != .success {
                let device = try TestCluster.device(name: "LAPTOP-HUP", challenge: challenge)
                status = try TestCluster.reply(try await cluster.pkiOperation(try device.pkcsReq(ra: cluster.ra), edge: 1), device: device).status
                if status != .success { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(status == .success, "edge 1 reloaded on SIGHUP")
            let other = try cluster.mintChallenge(sub: UUID().uuidString, name: "LAPTOP-OLD0")
            let oldDevice = try TestCluster.device(name: "LAPTOP-OLD0", challenge: other)
            #expect(try TestCluster.reply(try await cluster.pkiOperation(try oldDevice.pkcsReq(ra: cluster.ra), edge: 0), device: oldDevice).status == .success,
                    "edge 0 did not reload and still trusts the old connector")

            // The heartbeats tell: the edges disagree.
            var agreement: Bool?
            for _ in 0..<50 {
                agreement = Self.profile(try await cluster.http(stats, token: TestCluster.adminToken))?["edgesInAgreement"] as? Bool
                if agreement == false { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(agreement == false)
            // reload-trust brings every edge to the same anchors.
            let reloaded = try await cluster.http(cluster.controlURL("/api/v1/admin/scep/intune/reload-trust"), method: .POST, token: TestCluster.adminToken)
            #expect(reloaded.status == 200)
            for _ in 0..<50 {
                agreement = Self.profile(try await cluster.http(stats, token: TestCluster.adminToken))?["edgesInAgreement"] as? Bool
                if agreement == true { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(agreement == true)
        }
    }

    @Test("GET /api/v1/profiles shows the edges' half of a profile from their heartbeats, grouped, so an edge started with other settings stands out")
    func profilesShowEachEdgesSettings() async throws {
        try await Self.withCluster { cluster in
            try await cluster.startEdge(id: "edge-odd", environment: ["SCEPTER_PROFILE_CORP_INTUNE_RATE_LIMIT": "10"])
            let url = cluster.controlURL("/api/v1/profiles")
            var groups: [[String: Any]] = []
            let grouped = await cluster.eventually(timeout: .seconds(30)) {
                guard let answer = try? await cluster.http(url, token: TestCluster.viewerToken),
                    let profiles = (try? JSONSerialization.jsonObject(with: Data(answer.body))) as? [[String: Any]],
                    let corp = profiles.first(where: { $0["name"] as? String == "corp" })
                else { return false }
                groups = corp["edges"] as? [[String: Any]] ?? []
                return groups.count == 2
            }
            #expect(grouped, "\(groups)")
            let byEdges = Dictionary(
                uniqueKeysWithValues: groups.map { (($0["edges"] as? [String]) ?? [], ($0["settings"] as? [String: Any]) ?? [:]) }.map {
                    ($0.0.joined(separator: ","), $0.1)
                })
            let rateLimit = { (edges: String) in (byEdges[edges]?["signedChallenge"] as? [String: Any])?["rateLimit"] as? Int }
            #expect(rateLimit("edge-0,edge-1") == 3, "\(byEdges.keys)")
            #expect(rateLimit("edge-odd") == 10, "\(byEdges.keys)")
            #expect(byEdges["edge-0,edge-1"]?["challengePassword"] as? String == "set")
            #expect(byEdges["edge-0,edge-1"]?["intuneMode"] as? String == "signed-challenge")
        }
    }

    @Test("micromdm's SCEP client enrolls through either edge, GET and POST, and OpenSSL verifies the certificates")
    func micromdmClientEnrollsThroughTheCluster() async throws {
        try await InteropClient.ensureBuilt()
        try await Self.withCluster { cluster in
            let directory = try Shell.temporaryDirectory()
            let caPath = directory.appendingPathComponent("ca.pem").path
            try cluster.caPEM.write(toFile: caPath, atomically: true, encoding: .utf8)
            for (edge, method) in [(0, "post"), (1, "get")] {
                let certificate = directory.appendingPathComponent("device-\(edge).pem").path
                let run = try await Shell.run(InteropClient.binary, [
                    "-url", cluster.scepURL(edge: edge), "-challenge", TestCluster.staticPassword, "-method", method,
                    "-cipher", "aes256", "-digest", "sha256", "-cert-out", certificate, "-strict", "-cn", "interop-\(edge)",
                ])
                #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
                let report = try JSONDecoder().decode(InteropClient.Report.self, from: Data((run.stdout.split(separator: "\n").last ?? "").utf8))
                #expect(report.pkiStatus == "SUCCESS")
                let verify = try await Shell.run("/usr/bin/openssl", ["verify", "-CAfile", caPath, certificate])
                #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            }
            #expect(try await cluster.waitForAudit(2) == 2)
            #expect(try await cluster.count("SELECT count(*) FROM certificates") == 2)

            // The control plane's metrics count the jobs and the copied audit events.
            let metrics = try await cluster.http(cluster.controlURL("/metrics")).text
            #expect(metrics.contains(#"scepter_control_enrollment_decisions_total{profile="corp",decision="issued"} 2"#), "\(metrics)")
            let copied = metrics.split(separator: "\n").first { $0.hasPrefix("scepter_audit_events_copied_total ") }
            #expect((copied?.split(separator: " ").last).flatMap { Int($0) } ?? 0 >= 2, "\(metrics)")
            // Counters an alert watches for any increase are scraped at 0 before their first event.
            #expect(metrics.split(separator: "\n").contains("scepter_audit_events_lost_total 0"), "\(metrics)")
            // And the edges' metrics their PKIOperations.
            let edgeMetrics = try await cluster.http(cluster.edgeURL(0, "/metrics")).text
            #expect(edgeMetrics.contains(#"scepter_enrollments_total{profile="corp",outcome="success"} 1"#), "\(edgeMetrics)")
        }
    }

    static func json(_ answer: TestCluster.HTTPAnswer) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(answer.body))) as? [String: Any]
    }

    /// The `corp` entry of a stats answer.
    static func profile(_ answer: TestCluster.HTTPAnswer) -> [String: Any]? {
        (json(answer)?["profiles"] as? [[String: Any]])?.first { $0["profile"] as? String == "corp" }
    }
}
