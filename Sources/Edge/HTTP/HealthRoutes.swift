import Hummingbird
import NIOCore

/// `/healthz` (alive), `/readyz` (dependencies up) and `/metrics`.
package struct HealthRoutes: Sendable {
    let ready: @Sendable () async -> (Bool, String)
    let metrics: @Sendable () -> [UInt8]

    package init(ready: @escaping @Sendable () async -> (Bool, String), metrics: @escaping @Sendable () -> [UInt8]) {
        self.ready = ready
        self.metrics = metrics
    }

    package func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/healthz") { _, _ in Response.text("ok\n", status: .ok) }
        router.get("/readyz") { _, _ in
            let (isReady, detail) = await ready()
            return Response.text(detail + "\n", status: isReady ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics())))
        }
    }
}
