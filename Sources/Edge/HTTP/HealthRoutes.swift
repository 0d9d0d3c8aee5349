import Hummingbird
import NIOCore

/// `/healthz` (alive), `/readyz` (dependencies up) and `/metrics`.
package struct HealthRoutes: Sendable {
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

    package func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/healthz") { _, _ in Response.text("ok\n", status: .ok) }
        router.get("/readyz") { _, _ in
            let (isReady, detail) = await readiness.answer()
            return Response.text(detail + "\n", status: isReady ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics())))
        }
    }
}
