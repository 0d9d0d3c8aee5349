import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Builds PostgreSQL's online indexes (`Schema.onlineIndexes`: the issuer
/// index and the trigram indexes) once the control plane has started:
/// `CREATE INDEX CONCURRENTLY`, so enrollments go on writing while a large
/// inventory is indexed, on a connection of its own with no statement
/// limit, by one replica at a time (a session advisory lock; the others
/// leave it to that one). A build cut short (a shutdown, a lost connection)
/// leaves an invalid index, which the next start drops and builds again.
package struct OnlineIndexBuilder: Service {
    let store: PostgresStore

    package init(store: PostgresStore) {
        self.store = store
    }

    package func run() async throws {
        _ = await cancelWhenGracefulShutdown { await store.buildOnlineIndexes() }
        // A service that returns would stop the process: stay until shutdown.
        try? await gracefulShutdown()
    }
}

extension PostgresStore {
    /// What `buildOnlineIndexes()` found or did.
    package enum OnlineIndexes: Sendable, Equatable {
        /// Every index exists and is valid.
        case present
        /// These were built (after dropping any left invalid).
        case built([String])
        /// Another replica holds the lock: it builds them.
        case buildingElsewhere
        /// `pg_trgm` could not be created, so the trigram indexes were not
        /// built (the others were); the warning logged says what to do.
        case extensionUnavailable(String)
        /// Anything else (the database went away, the build was cut short); logged.
        case failed(String)
    }

    /// Key of the session advisory lock one replica builds the indexes under ("SCEPTRGM").
    static let onlineIndexLock: Int64 = 0x5343_4550_5452_474D

    /// Builds the online indexes that are missing or invalid. Never throws:
    /// without them the reads they serve read the table, which is slow, not wrong.
    package func buildOnlineIndexes() async -> OnlineIndexes {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try configuration.connectionConfiguration(), id: 0, logger: logger)
        } catch {
            logger.warning("online indexes: cannot connect; a later start tries again", metadata: ["error": "\(error)"])
            return .failed("\(error)")
        }
        let outcome: OnlineIndexes
        do {
            outcome = try await withTaskCancellationHandler {
                try await buildOnlineIndexes(on: connection)
            } onCancel: {
                connection.closeNow()
            }
        } catch {
            logger.warning(
                "online indexes not built: \(error); certificate searches by text (q, device) and the issuers' counts read the whole certificates table until a later start builds them"
            )
            outcome = .failed("\(error)")
        }
        try? await connection.close()
        return outcome
    }

    private func buildOnlineIndexes(on connection: PostgresConnection) async throws -> OnlineIndexes {
        let names = Schema.onlineIndexes.map(\.name).sorted()
        // A build on a large table takes longer than any one query may.
        try await execute("SET statement_timeout = 0", on: connection, "online indexes: SET statement_timeout")
        let lock = try await execute(
            "SELECT pg_try_advisory_lock(\(Self.onlineIndexLock))", on: connection, "online indexes: taking the lock")
        guard try lock.first?.decode(Bool.self) == true else { return .buildingElsewhere }
        let rows = try await execute(
            """
            SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = 'certificates'::regclass AND c.relname = ANY(\(names))
            """, on: connection, "online indexes: looking for them")
        var valid: Set<String> = []
        for row in rows {
            let (name, isValid) = try row.decode((String, Bool).self)
            if isValid {
                valid.insert(name)
            } else {
                logger.notice("dropping an invalid index left by an interrupted build", metadata: ["index": "\(name)"])
                try await execute(
                    PostgresQuery(unsafeSQL: "DROP INDEX CONCURRENTLY IF EXISTS \(name)"), on: connection, "online indexes: dropping invalid \(name)")
            }
        }
        let missing = Schema.onlineIndexes.filter { !valid.contains($0.name) }
        guard !missing.isEmpty else { return .present }
        for index in missing where !index.trigram { try await build(index, on: connection) }
        if missing.contains(where: \.trigram) {
            do {
                try await execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", on: connection, "online indexes: CREATE EXTENSION pg_trgm")
            } catch let error as Error where !connection.isClosed {
                logger.warning(
                    "certificate searches by text (q, device) will read the whole certificates table: \(error). A superuser can run CREATE EXTENSION pg_trgm in database \(configuration.database); the next control plane start then builds the indexes"
                )
                return .extensionUnavailable("\(error)")
            }
            for index in missing where index.trigram { try await build(index, on: connection) }
        }
        return .built(missing.map(\.name).sorted())
    }

    private func build(_ index: Schema.OnlineIndex, on connection: PostgresConnection) async throws {
        let started = ContinuousClock.now
        logger.info("building index", metadata: ["index": "\(index.name)"])
        try await execute(
            PostgresQuery(unsafeSQL: "CREATE INDEX CONCURRENTLY IF NOT EXISTS \(index.name) ON \(index.definition)"), on: connection,
            "online indexes: building \(index.name)")
        logger.info("built index", metadata: ["index": "\(index.name)", "duration": "\(ContinuousClock.now - started)"])
    }
}
