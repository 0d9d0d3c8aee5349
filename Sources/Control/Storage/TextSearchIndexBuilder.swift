import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Builds PostgreSQL's trigram indexes (`Schema.textSearchIndexes`) once the
/// control plane has started: `CREATE INDEX CONCURRENTLY`, so enrollments go
/// on writing while a large inventory is indexed, on a connection of its own
/// with no statement limit, by one replica at a time (a session advisory
/// lock; the others leave it to that one). A build cut short (a shutdown, a
/// lost connection) leaves an invalid index, which the next start drops and
/// builds again.
package struct TextSearchIndexBuilder: Service {
    let store: PostgresStore

    package init(store: PostgresStore) {
        self.store = store
    }

    package func run() async throws {
        _ = await cancelWhenGracefulShutdown { await store.buildTextSearchIndexes() }
        // A service that returns would stop the process: stay until shutdown.
        try? await gracefulShutdown()
    }
}

extension PostgresStore {
    /// What `buildTextSearchIndexes()` found or did.
    package enum TextSearchIndexes: Sendable, Equatable {
        /// Every index exists and is valid.
        case present
        /// These were built (after dropping any left invalid).
        case built([String])
        /// Another replica holds the lock: it builds them.
        case buildingElsewhere
        /// `pg_trgm` could not be created; the warning logged says what to do.
        case extensionUnavailable(String)
        /// Anything else (the database went away, the build was cut short); logged.
        case failed(String)
    }

    /// Key of the session advisory lock one replica builds the indexes under ("SCEPTRGM").
    static let textSearchLock: Int64 = 0x5343_4550_5452_474D

    /// Builds the text search indexes that are missing or invalid. Never
    /// throws: without the indexes the searches read the table, which is
    /// slow, not wrong.
    package func buildTextSearchIndexes() async -> TextSearchIndexes {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try configuration.connectionConfiguration(), id: 0, logger: logger)
        } catch {
            logger.warning("text search indexes: cannot connect; a later start tries again", metadata: ["error": "\(error)"])
            return .failed("\(error)")
        }
        let outcome: TextSearchIndexes
        do {
            outcome = try await withTaskCancellationHandler {
                try await buildTextSearchIndexes(on: connection)
            } onCancel: {
                connection.closeNow()
            }
        } catch {
            logger.warning(
                "text search indexes not built: \(error); certificate searches by text (q, device) read the whole certificates table until a later start builds them"
            )
            outcome = .failed("\(error)")
        }
        try? await connection.close()
        return outcome
    }

    private func buildTextSearchIndexes(on connection: PostgresConnection) async throws -> TextSearchIndexes {
        let names = Schema.textSearchIndexes.keys.sorted()
        // A build on a large table takes longer than any one query may.
        try await execute("SET statement_timeout = 0", on: connection, "text search indexes: SET statement_timeout")
        let lock = try await execute(
            "SELECT pg_try_advisory_lock(\(Self.textSearchLock))", on: connection, "text search indexes: taking the lock")
        guard try lock.first?.decode(Bool.self) == true else { return .buildingElsewhere }
        let rows = try await execute(
            """
            SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = 'certificates'::regclass AND c.relname = ANY(\(names))
            """, on: connection, "text search indexes: looking for them")
        var valid: Set<String> = []
        for row in rows {
            let (name, isValid) = try row.decode((String, Bool).self)
            if isValid {
                valid.insert(name)
            } else {
                logger.notice("dropping an invalid text search index left by an interrupted build", metadata: ["index": "\(name)"])
                try await execute(
                    PostgresQuery(unsafeSQL: "DROP INDEX CONCURRENTLY IF EXISTS \(name)"), on: connection, "text search indexes: dropping invalid \(name)")
            }
        }
        let missing = names.filter { !valid.contains($0) }
        guard !missing.isEmpty else { return .present }
        do {
            try await execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", on: connection, "text search indexes: CREATE EXTENSION pg_trgm")
        } catch let error as Error where !connection.isClosed {
            logger.warning(
                "certificate searches by text (q, device) will read the whole certificates table: \(error). A superuser can run CREATE EXTENSION pg_trgm in database \(configuration.database); the next control plane start then builds the indexes"
            )
            return .extensionUnavailable("\(error)")
        }
        for name in missing {
            let started = ContinuousClock.now
            logger.info("building text search index", metadata: ["index": "\(name)"])
            try await execute(PostgresQuery(unsafeSQL: Schema.textSearchIndexes[name] ?? ""), on: connection, "text search indexes: building \(name)")
            logger.info("built text search index", metadata: ["index": "\(name)", "duration": "\(ContinuousClock.now - started)"])
        }
        return .built(missing)
    }
}
