import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import Prometheus
import ScepterProtocol
import ServiceLifecycle
import Synchronization
import UnixSignals

/// A listener's TLS context, built from its files at start and rebuilt on
/// SIGHUP, so a renewed certificate is served without a restart: new
/// connections get the new context, open ones keep theirs. A reload that
/// fails (a half-written file, a key that does not match) keeps the old
/// context and logs why.
final class ServerTLS: Service {
    let files: TLSFiles
    private let current: Mutex<NIOSSLContext>
    private let logger: Logger
    /// Told the served certificate's notAfter at start and after each reload.
    private let served: @Sendable (Date) -> Void

    init(files: TLSFiles, logger: Logger, served: @escaping @Sendable (Date) -> Void = { _ in }) throws {
        self.files = files
        self.logger = logger
        self.served = served
        let (context, notAfter) = try Self.context(files)
        self.current = Mutex(context)
        served(notAfter)
        if let warning = CertificateExpiry.warning("the TLS certificate \(files.certificatePath)", notAfter: notAfter, now: Date()) {
            logger.warning("\(warning)")
        }
    }

    var context: NIOSSLContext { current.withLock { $0 } }

    /// As `init`, but a certificate or key NIOSSL cannot use is a
    /// configuration problem naming the file.
    static func make(_ files: TLSFiles, logger: Logger, served: @escaping @Sendable (Date) -> Void = { _ in }) throws -> ServerTLS {
        do {
            return try ServerTLS(files: files, logger: logger, served: served)
        } catch {
            throw ConfigurationError([
                ConfigurationProblem(
                    files.certificateSetting,
                    "cannot serve TLS with \(files.certificatePath) and its key \(files.keyPath)"
                        + (files.clientCAPath.map { " (client CA \($0))" } ?? "") + ": \(error)"
                        // The files' own checks say what is wrong; NIOSSL's errors do not.
                        + (error is TLSFiles.Unusable ? "" : "; check that the key belongs to the certificate"))
            ])
        }
    }

    /// The context, and the notAfter of the certificate it serves (the first in the file).
    static func context(_ files: TLSFiles) throws -> (NIOSSLContext, Date) {
        let (certificatePEM, keyPEM) = try files.read()
        let certificates = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
        guard let leaf = certificates.first else { throw NIOSSLError.failedToLoadCertificate }
        let chain = certificates.map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCA = files.clientCAPath {
            // Asked for, checked when presented; routes that need one refuse requests without it.
            configuration.certificateVerification = .optionalVerification
            configuration.trustRoots = .file(clientCA)
        }
        return (try NIOSSLContext(configuration: configuration), Date(timeIntervalSince1970: TimeInterval(leaf.notValidAfter)))
    }

    func reload() {
        do {
            let (fresh, notAfter) = try Self.context(files)
            current.withLock { $0 = fresh }
            served(notAfter)
            logger.notice("TLS certificate reloaded", metadata: ["certificate": "\(files.certificatePath)"])
        } catch {
            logger.error(
                "TLS certificate reload failed; still serving the previous one",
                metadata: ["certificate": "\(files.certificatePath)", "error": "\(error)"])
        }
    }

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            reload()
        }
    }

    /// An HTTP/1.1 server whose connections start with TLS from `self`.
    func server(limits: ListenerLimits) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            ReloadingTLSChannel(
                base: HTTP1Channel(responder: responder, configuration: Listener.http1(limits: limits)), tls: self)
        }
    }
}

/// Hummingbird's TLS channel, but the context is read per connection.
struct ReloadingTLSChannel<Base: ServerChildChannel & HTTPChannelHandler>: ServerChildChannel, HTTPChannelHandler {
    typealias Value = Base.Value
    let base: Base
    let tls: ServerTLS

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension ServerTLS {
    static var notAfterMetric: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "scepter", metricName: "tls_certificate_not_after", unitName: "seconds",
            helpText: "notAfter of the certificate the TLS listener serves, as Unix time; updated by each reload")
    }

    /// Publishes the served certificate's notAfter in `registry` (the role's
    /// `/metrics`); the gauge exists only once a certificate is served.
    static func publishing(to registry: PrometheusCollectorRegistry) -> @Sendable (Date) -> Void {
        { notAfter in registry.makeGauge(descriptor: notAfterMetric).set(notAfter.timeIntervalSince1970) }
    }
}
