import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Testing
import ScepterProtocol
@testable import ScepterControl

/// Runs against the real PostgreSQL that `SCEPTER_TEST_DATABASE_URL` names
/// (`scripts/services` starts one); each test gets a database of its own.
@Suite("PostgresStore", .timeLimit(.minutes(5)))
struct PostgresStoreTests {
    typealias Database = PostgresTestDatabase

    @Test("meets the ControlStore contract", arguments: ControlStoreContract.allCases)
    func contract(_ check: ControlStoreContract) async throws {
        try await Database.withStore { store, _ in
            try await check.run(on: store)
        }
    }

    @Test("Migrations run again, by the same or another store, change nothing")
    func migrationsAreIdempotent() async throws {
        try await Database.withStore { store, database in
            try await store.migrate()
            try await store.commitIssued(
                ControlStoreContract.certificate(serial: "4a01", transactionID: "tx-1"),
                enrollment: ControlStoreContract.issuedEnrollment(serial: "4a01", transactionID: "tx-1"))
            try await store.migrate()
            let second = PostgresStore(configuration: database.configuration, logger: ControlFixtures.logger)
            try await second.migrate()

            let versions = Schema.migrations.map(\.version)
            #expect(try await database.scalar("SELECT count(*) FROM schema_migrations") == versions.count)
            #expect(try await database.scalar("SELECT max(version) FROM schema_migrations") == versions.max())
            #expect(try await store.certificate(serialNumber: "4a01") == ControlStoreContract.certificate(serial: "4a01", transactionID: "tx-1"))
        }
    }

    @Test("Every table and column of the SQLite schema exists under the same name")
    func schemaKeepsTheNames() async throws {
        try await Database.withStore { store, database in
            try await store.migrate()
            let connection = try await database.connect()
            let rows = try await connection.query(
                """
                SELECT table_name, column_name FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name IN ('certificates', 'enrollments', 'audit_events', 'revocations')
                """, logger: ControlFixtures.logger
            ).collect()
            try await connection.close()
            let columns = Set(try rows.map { row in
                let (table, column) = try row.decode((String, String).self)
                return "\(table).\(column)"
            })
            let expected: Set<String> = [
                "certificates.serial", "certificates.issuer", "certificates.profile", "certificates.subject", "certificates.sans",
                "certificates.not_before", "certificates.not_after", "certificates.status", "certificates.transaction_id",
                "certificates.device_id", "certificates.der", "certificates.created_at",
                "enrollments.profile", "enrollments.transaction_id", "enrollments.message_type", "enrollments.status",
                "enrollments.serial", "enrollments.outcome", "enrollments.reason", "enrollments.csr_sha256", "enrollments.created_at",
                "audit_events.id", "audit_events.time", "audit_events.edge", "audit_events.source_ip", "audit_events.profile",
                "audit_events.operation", "audit_events.message_type", "audit_events.transaction_id", "audit_events.outcome",
                "audit_events.fail_info", "audit_events.claim_sub", "audit_events.claim_iss", "audit_events.device_name",
                "audit_events.csr_subject", "audit_events.csr_sans", "audit_events.serial", "audit_events.latency_ms",
                "audit_events.details", "audit_events.provisional",
                "revocations.serial", "revocations.issuer", "revocations.revoked_at", "revocations.reason", "revocations.actor",
                "revocations.invalidity_date",
            ]
            #expect(columns == expected)
        }
    }

    @Test("Five stores migrating one database at once all succeed, and the migrations apply once")
    func concurrentMigrations() async throws {
        try await Database.withStore { _, database in
            let stores = (0..<5).map { _ in PostgresStore(configuration: database.configuration, logger: ControlFixtures.logger) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in stores { group.addTask { try await store.migrate() } }
                try await group.waitForAll()
            }
            #expect(try await database.scalar("SELECT count(*) FROM schema_migrations") == Schema.migrations.count)
            #expect(try await database.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'certificates'") == 1)
        }
    }

    @Test("Migration waits for the advisory lock another replica holds")
    func migrationTakesTheLock() async throws {
        // A generous connect timeout: the lock is what is timed here, and connections opened in the
        // suite's crowded first minute took over the services' 2 s (a CI run of ea6398b).
        try await Database.withStore(configure: { $0.migrationTimeout = .seconds(1); $0.connectTimeout = .seconds(30) }) { store, database in
            // Another replica in the middle of migrating holds the lock.
            let replica = try await database.connect()
            try await replica.query("BEGIN", logger: ControlFixtures.logger)
            try await replica.query("SELECT pg_advisory_xact_lock(\(PostgresStore.migrationLock))", logger: ControlFixtures.logger)

            let error = await #expect(throws: PostgresStore.Error.self) { try await store.migrate() }
            #expect(error?.code == .timedOut)
            #expect(error?.message.contains("migration lock") == true, "\(String(describing: error))")
            #expect(try await database.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'") == 0)

            try await replica.query("COMMIT", logger: ControlFixtures.logger)
            try await replica.close()
            try await store.migrate()
            #expect(try await database.scalar("SELECT count(*) FROM schema_migrations") == Schema.migrations.count)
        }
    }

    @Test("A database migrated by a newer Scepter is refused")
    func newerSchemaIsRefused() async throws {
        try await Database.withStore { store, database in
            try await store.migrate()
            let future = (Schema.migrations.map(\.version).max() ?? 0) + 1
            try await Database.administer(
                database.configuration, "INSERT INTO schema_migrations (version, applied_at) VALUES (\(future), now())")

            let error = await #expect(throws: PostgresStore.Error.self) { try await store.migrate() }
            #expect(error?.code == .schemaTooNew)
            #expect(error?.message.contains("schema version \(future)") == true, "\(String(describing: error))")
            #expect(try await database.scalar("SELECT count(*) FROM schema_migrations") == Schema.migrations.count + 1)
        }
    }

    @Test("Ten concurrent commits of one transaction from two replicas: one wins, nine conflict, one certificate")
    func concurrentCommitsAcrossReplicas() async throws {
        try await Database.withStore { store, database in
            try await store.migrate()
            let replica = PostgresStore(configuration: database.configuration, logger: ControlFixtures.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await replica.run() }
                defer { group.cancelAll() }

                let serials = (0..<10).map { String(format: "6c%02x", $0) }
                let outcomes = await withTaskGroup(of: (String, Result<Void, any Error>).self) { commits in
                    for (index, serial) in serials.enumerated() {
                        let target = index.isMultiple(of: 2) ? store : replica
                        commits.addTask {
                            do {
                                try await target.commitIssued(
                                    ControlStoreContract.certificate(serial: serial, transactionID: "tx-race"),
                                    enrollment: ControlStoreContract.issuedEnrollment(serial: serial, transactionID: "tx-race"))
                                return (serial, .success(()))
                            } catch {
                                return (serial, .failure(error))
                            }
                        }
                    }
                    return await commits.reduce(into: [:]) { $0[$1.0] = $1.1 }
                }

                let winners = outcomes.filter { if case .success = $0.value { true } else { false } }.map(\.key)
                #expect(winners.count == 1, "winners: \(winners)")
                for (serial, outcome) in outcomes {
                    if case .failure(let error) = outcome {
                        #expect(error is StoreConflict, "\(serial) failed with \(error), not StoreConflict")
                    }
                }
                let certificates = try await database.scalar("SELECT count(*) FROM certificates WHERE transaction_id = 'tx-race'")
                let enrollments = try await database.scalar("SELECT count(*) FROM enrollments WHERE transaction_id = 'tx-race'")
                let recorded = try await replica.enrollments(profile: "corp", transactionID: "tx-race").first
                #expect(certificates == 1)
                #expect(enrollments == 1)
                #expect(recorded?.serialNumber == winners.first)
            }
        }
    }

    @Test("A conflicting serial number is a query error naming the constraint, not a StoreConflict")
    func duplicateSerialIsNotAConflict() async throws {
        try await Database.withStore { store, _ in
            try await store.migrate()
            try await store.commitIssued(
                ControlStoreContract.certificate(serial: "4a01", transactionID: "tx-1"),
                enrollment: ControlStoreContract.issuedEnrollment(serial: "4a01", transactionID: "tx-1"))

            let error = await #expect(throws: PostgresStore.Error.self) {
                try await store.commitIssued(
                    ControlStoreContract.certificate(serial: "4a01", transactionID: "tx-2"),
                    enrollment: ControlStoreContract.issuedEnrollment(serial: "4a01", transactionID: "tx-2"))
            }
            #expect(error?.code == .query)
            #expect(error?.sqlState == "23505")
            #expect(error?.constraint == "certificates_pkey")
            #expect(error?.message.contains("INSERT INTO certificates") == true, "\(String(describing: error))")
            #expect(try await store.enrollments(profile: "corp", transactionID: "tx-2").first == nil, "the enrollment rolled back with it")
        }
    }

    @Test("A wait on a statement ends when its connection closes, even if postgres-nio never answers it")
    func waitEndsWithTheConnection() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let unanswered = loop.makePromise(of: Int.self)
        let closing = ClosingSignal()
        loop.scheduleTask(in: .milliseconds(50)) { closing.close() }
        await #expect(throws: CancellableWaitClosed.self) {
            try await CancellableWait<Int>().value(of: unanswered.futureResult, closing: closing)
        }
        unanswered.succeed(1)  // answered late: dropped
        #expect(closing.waiting == 0)

        // Sent on a connection that has closed already: ends at once.
        let late = loop.makePromise(of: Int.self)
        await #expect(throws: CancellableWaitClosed.self) {
            try await CancellableWait<Int>().value(of: late.futureResult, closing: closing)
        }
        late.succeed(2)

        let answered = loop.makePromise(of: Int.self)
        let open = ClosingSignal()
        loop.scheduleTask(in: .milliseconds(10)) { answered.succeed(7) }
        #expect(try await CancellableWait<Int>().value(of: answered.futureResult, closing: open) == 7)
        #expect(open.waiting == 0, "an answered statement leaves nothing registered on its connection")
    }

    @Test("Statements leave nothing behind on their connection, and a closed connection's signal goes with it")
    func statementsLeaveNothingOnTheConnection() async throws {
        try await Database.withStore(configure: {
            $0.maximumConnections = 1
            $0.applicationName = "scepter-closings-test"
        }) { store, database in
            try await store.migrate()
            for index in 0..<200 {
                #expect(try await store.enrollments(profile: "corp", transactionID: "tx-\(index)").isEmpty)
            }
            // One connection ran 200 statements: one signal, nothing waiting on it.
            #expect(store.closings.count == 1)
            #expect(store.closings.waiting == 0)

            #expect(try await database.scalar(
                "SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE application_name = 'scepter-closings-test'") >= 1)
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(10)
            while store.closings.count > 0, clock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(store.closings.count == 0, "the closed connection's signal is dropped")
            // The pool opens another connection; it works as before.
            #expect(try await store.enrollments(profile: "corp", transactionID: "tx-after").isEmpty)
        }
    }

    @Test("The enrollment path's two statements are prepared once per connection, and their errors still name the constraint")
    func hotStatementsArePrepared() async throws {
        try await Database.withStore(configure: { $0.maximumConnections = 1 }) { store, _ in
            try await store.migrate()
            // The first run prepares with a NULL device id; the second binds text in its place.
            for (transaction, device) in [("tx-1", nil), ("tx-2", "device-42")] as [(String, String?)] {
                #expect(try await store.enrollments(profile: "corp", transactionID: transaction).isEmpty)
                try await store.commitIssued(
                    ControlStoreContract.certificate(serial: "4a0\(transaction.suffix(1))", transactionID: transaction, deviceID: device),
                    enrollment: ControlStoreContract.issuedEnrollment(serial: "4a0\(transaction.suffix(1))", transactionID: transaction),
                    audit: ControlStoreContract.event(id: "e-\(transaction)", at: 1), supersedes: nil)
            }
            let prepared = try await store.run("test") { sql in
                try await sql.run("SELECT name FROM pg_prepared_statements ORDER BY name").map { try $0.text("name") }
            }
            #expect(prepared == ["scepter_enrollments_of_transaction", "scepter_issuance"])
            #expect(try await store.enrollments(profile: "corp", transactionID: "tx-2").first?.serialNumber == "4a02")
            #expect(try await store.certificate(serialNumber: "4a01")?.deviceID == nil)
            #expect(try await store.certificate(serialNumber: "4a02")?.deviceID == "device-42")

            let error = await #expect(throws: PostgresStore.Error.self) {
                try await store.commitIssued(
                    ControlStoreContract.certificate(serial: "4a01", transactionID: "tx-3"),
                    enrollment: ControlStoreContract.issuedEnrollment(serial: "4a01", transactionID: "tx-3"),
                    audit: ControlStoreContract.event(id: "e-tx-3", at: 2), supersedes: nil)
            }
            #expect(error?.constraint == "certificates_pkey")
            #expect(error?.message.contains("INSERT INTO certificates + INSERT INTO enrollments + INSERT INTO audit_events") == true, "\(String(describing: error))")
            #expect(try await store.enrollments(profile: "corp", transactionID: "tx-3").isEmpty, "the enrollment rolled back with it")
        }
    }

    @Test("Audit times and the DER round-trip through timestamptz(3) and bytea")
    func columnTypes() async throws {
        try await Database.withStore { store, database in
            try await store.migrate()
            try await store.insertAudit(ControlStoreContract.event(id: "e-1", at: 0.0274))
            let certificate = ControlStoreContract.certificate(serial: "4a01", transactionID: "tx-1")
            try await store.commitIssued(certificate, enrollment: ControlStoreContract.issuedEnrollment(serial: "4a01", transactionID: "tx-1"))

            // Stored rounded to the millisecond, as SQLite's text keeps it.
            #expect(try await database.scalar(#"SELECT (extract(microseconds FROM "time") % 1000000)::int FROM audit_events"#) == 27_000)
            #expect(try await database.scalar("SELECT octet_length(der) FROM certificates") == certificate.der.count)
            #expect(
                try await database.scalar(
                    "SELECT count(*) FROM information_schema.columns WHERE data_type = 'timestamp with time zone' AND datetime_precision = 3 AND table_name IN ('certificates', 'enrollments', 'audit_events', 'revocations')")
                    == 7)
        }
    }

    // MARK: Timeouts and shutdown

    @Test("An unreachable server fails migrate and queries within the connect timeout, naming the server")
    func unreachableServerFailsFast() async throws {
        var configuration = PostgresStore.Configuration(host: "127.0.0.1", port: 1, username: "scepter", database: "scepter", tls: .disable)
        configuration.connectTimeout = .seconds(1)
        let store = PostgresStore(configuration: configuration, logger: ControlFixtures.logger)
        let clock = ContinuousClock()

        let migrateStarted = clock.now
        let migrateError = await #expect(throws: PostgresStore.Error.self) { try await store.migrate() }
        #expect(clock.now - migrateStarted < Self.allowing(.seconds(1)))
        #expect(migrateError?.code == .unavailable)
        #expect(migrateError?.message.contains("127.0.0.1:1") == true, "\(String(describing: migrateError))")

        let shutdown = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            let queryStarted = clock.now
            let queryError = await #expect(throws: PostgresStore.Error.self) {
                _ = try await store.enrollments(profile: "corp", transactionID: "tx-1").first
            }
            let elapsed = clock.now - queryStarted
            #expect(elapsed >= .milliseconds(900) && elapsed < Self.allowing(.seconds(1)), "failed after \(elapsed)")
            #expect(queryError?.code == .unavailable)
            #expect(queryError?.message.contains("127.0.0.1:1") == true, "\(String(describing: queryError))")
            #expect(queryError?.message.contains("within 1 s") == true, "\(String(describing: queryError))")

            let shutdownStarted = clock.now
            group.cancelAll()
            try await group.waitForAll()
            return clock.now - shutdownStarted
        }
        #expect(shutdown < Self.allowing(.zero), "the store took \(shutdown) to stop")
    }

    @Test("A server that accepts TCP but never answers fails within the connect timeout")
    func silentServerFailsFast() async throws {
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        var configuration = PostgresStore.Configuration(host: "127.0.0.1", port: port, username: "scepter", database: "scepter", tls: .disable)
        configuration.connectTimeout = .seconds(1)
        let store = PostgresStore(configuration: configuration, logger: ControlFixtures.logger)
        let clock = ContinuousClock()

        let migrateStarted = clock.now
        let migrateError = await #expect(throws: PostgresStore.Error.self) { try await store.migrate() }
        #expect(clock.now - migrateStarted < Self.allowing(.seconds(1)))
        #expect(migrateError?.code == .unavailable)
        #expect(migrateError?.message.contains("127.0.0.1:\(port)") == true, "\(String(describing: migrateError))")

        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { group.cancelAll() }
            let started = clock.now
            let error = await #expect(throws: PostgresStore.Error.self) { try await store.insertAudit(ControlStoreContract.event(id: "e", at: 0)) }
            #expect(clock.now - started < Self.allowing(.seconds(1)))
            #expect(error?.code == .unavailable)
        }
        try await listener.close()
    }

    @Test("A statement blocked past the query timeout is cancelled by the server")
    func statementTimeout() async throws {
        try await Database.withStore(configure: { $0.queryTimeout = .seconds(1) }) { store, database in
            try await store.migrate()
            // Another replica's open transaction holds the enrollment's key.
            let replica = try await database.connect()
            try await replica.query("BEGIN", logger: ControlFixtures.logger)
            try await replica.query(
                """
                INSERT INTO enrollments (profile, transaction_id, message_type, status, outcome, reason, csr_sha256, created_at)
                VALUES ('corp', 'tx-held', 'PKCSReq', 'rejected', 'policy-violation', 'held', 'cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd', now())
                """, logger: ControlFixtures.logger)

            let clock = ContinuousClock()
            let started = clock.now
            let error = await #expect(throws: PostgresStore.Error.self) {
                try await store.commitRejected(ControlStoreContract.rejectedEnrollment(transactionID: "tx-held"))
            }
            let elapsed = clock.now - started
            #expect(error?.code == .timedOut)
            #expect(error?.sqlState == "57014")
            #expect(error?.message.contains("statement_timeout") == true, "\(String(describing: error))")
            #expect(elapsed >= .milliseconds(900) && elapsed < Self.allowing(.seconds(1)), "took \(elapsed)")

            try await replica.query("ROLLBACK", logger: ControlFixtures.logger)
            try await replica.close()
            // The pooled connection was rolled back and is usable again.
            try await store.commitRejected(ControlStoreContract.rejectedEnrollment(transactionID: "tx-held"))
            #expect(try await store.enrollments(profile: "corp", transactionID: "tx-held").first?.status == .rejected)
        }
    }

    @Test("A connection the server terminates mid-transaction fails the operation, and the store recovers")
    func connectionKilledMidTransaction() async throws {
        try await Database.withStore(configure: {
            $0.applicationName = "scepter-kill-test"
            $0.queryTimeout = .seconds(600)
        }) { store, database in
            try await store.migrate()
            let holder = try await database.connect()
            try await holder.query("BEGIN", logger: ControlFixtures.logger)
            try await holder.query(
                """
                INSERT INTO enrollments (profile, transaction_id, message_type, status, outcome, reason, csr_sha256, created_at)
                VALUES ('corp', 'tx-held', 'PKCSReq', 'rejected', 'policy-violation', 'held', 'abababababababababababababababababababababababababababababababab', now())
                """, logger: ControlFixtures.logger)

            let clock = ContinuousClock()
            let (elapsed, error) = try await withThrowingTaskGroup(of: PostgresStore.Error?.self) { tasks in
                tasks.addTask {
                    await #expect(throws: PostgresStore.Error.self) {
                        try await store.commitIssued(
                            ControlStoreContract.certificate(serial: "4a01", transactionID: "tx-held"),
                            enrollment: ControlStoreContract.issuedEnrollment(serial: "4a01", transactionID: "tx-held"))
                    }
                }
                try await Self.waitForLockWait(of: "scepter-kill-test", in: database)
                let started = clock.now
                try await Database.administer(
                    database.configuration,
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'scepter-kill-test'")
                let error = try await tasks.reduce(nil) { $0 ?? $1 }
                return (clock.now - started, error)
            }
            #expect(elapsed < Self.allowing(.zero), "the operation failed after \(elapsed)")
            #expect(error?.code == .unavailable, "\(String(describing: error))")

            try await holder.query("ROLLBACK", logger: ControlFixtures.logger)
            try await holder.close()
            try await store.commitIssued(
                ControlStoreContract.certificate(serial: "4a02", transactionID: "tx-after"),
                enrollment: ControlStoreContract.issuedEnrollment(serial: "4a02", transactionID: "tx-after"))
            #expect(try await store.certificate(serialNumber: "4a02") != nil)
            #expect(try await store.certificate(serialNumber: "4a01") == nil, "the killed transaction rolled back")
        }
    }

    @Test("Graceful shutdown does not wait for a transaction in flight: it fails and rolls back, later operations are refused")
    func gracefulShutdownAbortsStatementsInFlight() async throws {
        let database = try await Database.create()
        var configuration = database.configuration
        configuration.queryTimeout = .seconds(600)
        configuration.applicationName = "scepter-shutdown-test"
        let store = PostgresStore(configuration: configuration, logger: ControlFixtures.logger)
        try await store.migrate()

        // An operation that cannot finish by itself: it waits for a row lock the test holds.
        let holder = try await database.connect()
        try await holder.query("BEGIN", logger: ControlFixtures.logger)
        try await holder.query(
            """
            INSERT INTO enrollments (profile, transaction_id, message_type, status, outcome, reason, csr_sha256, created_at)
            VALUES ('corp', 'tx-held', 'PKCSReq', 'rejected', 'policy-violation', 'held', 'abababababababababababababababababababababababababababababababab', now())
            """, logger: ControlFixtures.logger)

        let group = ServiceGroup(services: [store], logger: ControlFixtures.logger)
        let clock = ContinuousClock()
        let (elapsed, inFlightError) = try await withThrowingTaskGroup(of: PostgresStore.Error?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            tasks.addTask {
                await #expect(throws: PostgresStore.Error.self) {
                    try await store.commitIssued(
                        ControlStoreContract.certificate(serial: "4a01", transactionID: "tx-held"),
                        enrollment: ControlStoreContract.issuedEnrollment(serial: "4a01", transactionID: "tx-held"))
                }
            }
            try await Self.waitForLockWait(of: "scepter-shutdown-test", in: database)
            let started = clock.now
            await group.triggerGracefulShutdown()
            let error = try await tasks.reduce(nil) { $0 ?? $1 }
            return (clock.now - started, error)
        }
        #expect(elapsed < Self.allowing(.zero), "shutdown took \(elapsed)")
        #expect(inFlightError?.code == .unavailable, "\(String(describing: inFlightError))")

        let refused = await #expect(throws: PostgresStore.Error.self) { _ = try await store.certificate(serialNumber: "4a01") }
        #expect(refused?.code == .shutDown)
        // commitIssued is one statement: once the holder gives up its lock the
        // server finishes it (PostgreSQL does not notice the closed connection
        // while it waits) or not at all, never half of it — a certificate only
        // with its enrollment, as when a COMMIT's answer is lost. The edge
        // answered 503, and the device's retry gets what was recorded.
        try await holder.query("ROLLBACK", logger: ControlFixtures.logger)
        try await holder.close()
        try await Self.waitUntilIdle("scepter-shutdown-test", in: database)
        let enrollments = try await database.scalar("SELECT count(*) FROM enrollments WHERE transaction_id = 'tx-held'")
        #expect(try await database.scalar("SELECT count(*) FROM certificates") == enrollments)
        #expect(try await database.scalar("SELECT count(*) FROM enrollments WHERE transaction_id = 'tx-held' AND serial = '4a01'") == enrollments)
        await database.drop()
    }

    @Test("Graceful shutdown does not wait for an operation waiting for a connection to a silent server")
    func gracefulShutdownAbortsWaitingOperations() async throws {
        let (accepted, acceptedContinuation) = AsyncStream.makeStream(of: Void.self)
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                acceptedContinuation.yield()
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)
        var configuration = PostgresStore.Configuration(host: "127.0.0.1", port: port, username: "scepter", database: "scepter", tls: .disable)
        configuration.connectTimeout = .seconds(600)
        let store = PostgresStore(configuration: configuration, logger: ControlFixtures.logger)

        let group = ServiceGroup(services: [store], logger: ControlFixtures.logger)
        let clock = ContinuousClock()
        let (elapsed, waitingError) = try await withThrowingTaskGroup(of: PostgresStore.Error?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            tasks.addTask {
                await #expect(throws: PostgresStore.Error.self) { try await store.insertAudit(ControlStoreContract.event(id: "e", at: 0)) }
            }
            // The pool connected to the listener: the operation waits for the login to finish.
            var connections = accepted.makeAsyncIterator()
            _ = await connections.next()
            let started = clock.now
            await group.triggerGracefulShutdown()
            let error = try await tasks.reduce(nil) { $0 ?? $1 }
            return (clock.now - started, error)
        }
        #expect(elapsed < Self.allowing(.zero), "shutdown took \(elapsed)")
        #expect(waitingError?.code == .shutDown, "\(String(describing: waitingError))")
        try await listener.close()
    }

    @Test("Operations queued before run() starts are served once it does")
    func operationsWaitForRun() async throws {
        let database = try await Database.create()
        let store = PostgresStore(configuration: database.configuration, logger: ControlFixtures.logger)
        try await store.migrate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.insertAudit(ControlStoreContract.event(id: "early", at: 0)) }
            group.addTask { try await store.run() }
            _ = try await group.next()
            #expect(try await store.auditEvents(AuditQuery()).map(\.id) == ["early"])
            group.cancelAll()
        }
        await database.drop()
    }

    /// `limit` plus what a loaded two-core machine may add while the whole
    /// suite runs (CPU-bound tests hold the cooperative pool; a minute was
    /// seen): without the limit under test the operations would wait ten
    /// minutes or forever, so this still tells.
    private static func allowing(_ limit: Duration) -> Duration { limit + .seconds(150) }

    private struct WaitTimedOut: Error, CustomStringConvertible {
        var description: String
    }

    /// Returns once a session named `applicationName` waits for a lock:
    /// polls `pg_stat_activity` on a connection of its own; fails after 30 s.
    /// Waits until no session of `applicationName` runs a statement (it finished, or its connection is gone).
    private static func waitUntilIdle(_ applicationName: String, in database: Database) async throws {
        let observer = try await database.connect()
        let deadline = ContinuousClock.now + .seconds(30)
        do {
            while true {
                let rows = try await observer.query(
                    "SELECT count(*)::int FROM pg_stat_activity WHERE application_name = \(applicationName) AND state = 'active'",
                    logger: ControlFixtures.logger
                ).collect()
                if try rows.first?.decode(Int.self) == 0 { break }
                guard ContinuousClock.now < deadline else {
                    throw WaitTimedOut(description: "a session of \(applicationName) was still active after 30 s")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        } catch {
            try? await observer.close()
            throw error
        }
        try await observer.close()
    }

    private static func waitForLockWait(of applicationName: String, in database: Database) async throws {
        let observer = try await database.connect()
        let deadline = ContinuousClock.now + .seconds(30)
        do {
            while true {
                let rows = try await observer.query(
                    "SELECT count(*)::int FROM pg_stat_activity WHERE application_name = \(applicationName) AND wait_event_type = 'Lock'",
                    logger: ControlFixtures.logger
                ).collect()
                if try rows.first?.decode(Int.self) == 1 { break }
                guard ContinuousClock.now < deadline else {
                    throw WaitTimedOut(description: "no session of \(applicationName) waited for a lock within 30 s")
                }
                await Task.yield()
            }
        } catch {
            try? await observer.close()
            throw error
        }
        try await observer.close()
    }
}

@Suite("PostgresStore.Configuration", .timeLimit(.minutes(5)))
struct PostgresStoreConfigurationTests {
    @Test("A full URL parses, percent-decoding the credentials")
    func fullURL() throws {
        let configuration = try PostgresStore.Configuration(
            url: "postgres://scep%40ter:p%40ss%3Aw0rd@db.example.com:6432/control?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3&application_name=ctl-1")
        #expect(configuration.username == "scep@ter")
        #expect(configuration.password == "p@ss:w0rd")
        #expect(configuration.host == "db.example.com")
        #expect(configuration.port == 6432)
        #expect(configuration.database == "control")
        #expect(configuration.tls == .verifyFull)
        #expect(configuration.tlsRootCertificatePath == "/etc/ca.pem")
        #expect(configuration.connectTimeout == .seconds(3))
        #expect(configuration.applicationName == "ctl-1")
    }

    @Test("Defaults: port 5432, sslmode prefer, no password; postgresql:// is accepted")
    func defaults() throws {
        let configuration = try PostgresStore.Configuration(url: "postgresql://scepter@127.0.0.1/scepter")
        #expect(configuration.port == 5432)
        #expect(configuration.tls == .prefer)
        #expect(configuration.password == nil)
        #expect(configuration.connectTimeout == .seconds(5))
        #expect(configuration.queryTimeout == .seconds(10))
        #expect(configuration.endpoint == "127.0.0.1:5432")
    }

    @Test("The pool closes a connection after a minute unused and sends no keep-alive queries")
    func poolTimers() throws {
        // postgres-nio 1.33.2 can send a keep-alive on a connection its idle
        // timer just closed and then wait for it forever, holding up
        // shutdown (Benchmarks/HISTORY.md, "A control plane that crashed on SIGTERM").
        let options = try PostgresStore.Configuration(url: "postgres://scepter@127.0.0.1/scepter").clientConfiguration().options
        #expect(options.keepAliveBehavior == nil)
        #expect(options.connectionIdleTimeout == .seconds(60))
        #expect(options.minimumConnections == 0)
    }

    @Test("An IPv6 literal host loses its brackets, and gets them back in the endpoint")
    func ipv6Host() throws {
        let configuration = try PostgresStore.Configuration(url: "postgres://scepter@[::1]:55432/scepter?sslmode=disable")
        #expect(configuration.host == "::1")
        #expect(configuration.endpoint == "[::1]:55432")
        #expect(configuration.description == "postgres://scepter@[::1]:55432/scepter?sslmode=disable")
    }

    @Test("The description never shows the password")
    func descriptionHidesPassword() throws {
        let configuration = try PostgresStore.Configuration(url: "postgres://scepter:hunter2@db:5432/scepter?sslmode=disable")
        #expect(configuration.description == "postgres://scepter:***@db:5432/scepter?sslmode=disable")
        #expect(!"\(configuration)".contains("hunter2"))
    }

    @Test(
        "Wrong URLs are refused with a message naming the problem, never the password",
        arguments: [
            ("mysql://scepter:hunter2@db/scepter", "scheme \"mysql\""),
            ("postgres://scepter:hunter2@/scepter", "has no host"),
            ("postgres://db:5432/scepter", "has no user name"),
            ("postgres://scepter:hunter2@db:5432", "has no database name"),
            ("postgres://scepter:hunter2@db:5432/", "has no database name"),
            ("postgres://scepter:hunter2@db:70000/scepter", "port 70000"),
            ("postgres://scepter:hunter2@db/scepter?sslmode=always", "sslmode=always is not one of disable, prefer, require, verify-ca, verify-full"),
            ("postgres://scepter:hunter2@db/scepter?pool=5", "unknown parameter \"pool\""),
            ("postgres://scepter:hunter2@db/scepter?connect_timeout=soon", "connect_timeout=soon"),
            ("postgres://scepter:hunter2@db/scepter?sslrootcert=/ca.pem", "sslrootcert needs sslmode=verify-ca or verify-full"),
            ("postgres://scepter:hunter2@[db/scepter", "is not a URL"),
        ])
    func refused(_ url: String, _ expected: String) {
        let error = #expect(throws: PostgresStore.Error.self) { try PostgresStore.Configuration(url: url) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains(expected) == true, "\(String(describing: error))")
        #expect(error?.message.contains("hunter2") == false)
    }

    @Test("Settings reads SCEPTER_DATABASE_URL and reports problems against it")
    func settings() throws {
        var good = Settings(environment: ["SCEPTER_DATABASE_URL": "postgres://scepter@db/scepter"])
        #expect(good.postgres()?.host == "db")
        #expect(good.problems.isEmpty)

        var missing = Settings(environment: [:])
        #expect(missing.postgres() == nil)
        #expect(missing.problems.map(\.variable) == ["SCEPTER_DATABASE_URL"])

        var wrong = Settings(environment: ["SCEPTER_DATABASE_URL": "postgres://scepter:hunter2@db/scepter?sslmode=maybe"])
        #expect(wrong.postgres() == nil)
        #expect(wrong.problems.map(\.variable) == ["SCEPTER_DATABASE_URL"])
        #expect(wrong.problems.first?.message.contains("sslmode=maybe") == true)
        #expect(wrong.problems.first?.message.contains("hunter2") == false)
    }
}

