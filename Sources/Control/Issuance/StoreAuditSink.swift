import ScepterProtocol

/// Embedded mode's audit sink: events go straight into the store, before the
/// edge answers.
public struct StoreAuditSink: AuditSink {
    let store: any ControlStore

    public init(store: any ControlStore) {
        self.store = store
    }

    public func record(_ event: AuditEvent) async throws {
        try await store.insertAudit(event)
    }
}
