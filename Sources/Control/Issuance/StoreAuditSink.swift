import ScepterProtocol

/// Embedded mode's audit sink: events go straight into the store, before the
/// edge answers.
package struct StoreAuditSink: AuditSink {
    let store: any ControlStore

    package init(store: any ControlStore) {
        self.store = store
    }

    package func record(_ event: AuditEvent) async throws {
        try await store.insertAudit(event)
    }
}
