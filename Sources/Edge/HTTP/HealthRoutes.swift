import Hummingbird
import NIOCore

/// `/healthz` (alive), `/readyz` (dependencies up) and `/metrics`.
package struct HealthRoutes: Sendable {
    /// What a listener shows: everything, or (on the public listener when
    /// an internal one serves the detail) whether it is ready and nothing else.
    package enum Exposure: Sendable {
        case full
        /// `/healthz`, and `/readyz` as `ready`/`not ready` without saying
        /// which dependency is down; no `/metrics`.
        case statusOnly
    }

    let readiness: ReadinessCache
    let metrics: @Sendable () -> [UInt8]

    /// `ready` is asked at most once a second, however many `/readyz` calls arrive (`ReadinessCache`).
    package init(ready: @escaping @Sendable () async -> (Bool, String), metrics: @escaping @Sendable () -> [UInt8]) {
        self.init(readiness: ReadinessCache(check: { await ready() }), metrics: metrics)
    }

    package init(readiness: ReadinessCache, metrics: @escaping @Sendable () -> [UInt8]) {
        self.readiness = readiness
        self.metrics = metrics
    }

    package func add<Context: RequestContext>(to router: Router<Context>, exposure: Exposure = .full) {
        router.get("/healthz") { _, _ in Response.text("ok\n", status: .ok) }
        router.get("/readyz") { _, _ in
            let (isReady, detail) = await readiness.answer()
            let body = exposure == .full ? detail : (isReady ? "ready" : "not ready")
            return Response.text(body + "\n", status: isReady ? .ok : .serviceUnavailable)
        }
        guard exposure == .full else { return }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics())))
        }
    }
}
