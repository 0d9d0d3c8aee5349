import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
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

    init(files: TLSFiles, logger: Logger) throws {
        self.files = files
        self.logger = logger
        self.current = Mutex(try Self.context(files))
    }

    var context: NIOSSLContext { current.withLock { $0 } }

    /// As `init`, but a certificate or key NIOSSL cannot use is a
    /// configuration problem naming the file.
    static func make(_ files: TLSFiles, logger: Logger) throws -> ServerTLS {
        do {
            return try ServerTLS(files: files, logger: logger)
        } catch {
            throw ConfigurationError([
                ConfigurationProblem(
                    files.certificateSetting,
                    "cannot serve TLS with \(files.certificatePath) and its key \(files.keyPath)"
                        + (files.clientCAPath.map { " (client CA \($0))" } ?? "") + ": \(error); check that the key belongs to the certificate")
            ])
        }
    }

    static func context(_ files: TLSFiles) throws -> NIOSSLContext {
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: files.keyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCA = files.clientCAPath {
            // Asked for, checked when presented; routes that need one refuse requests without it.
            configuration.certificateVerification = .optionalVerification
            configuration.trustRoots = .file(clientCA)
        }
        return try NIOSSLContext(configuration: configuration)
    }

    func reload() {
        do {
            let fresh = try Self.context(files)
            current.withLock { $0 = fresh }
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
