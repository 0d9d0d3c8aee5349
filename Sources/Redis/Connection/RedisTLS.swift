import NIOCore
import NIOSSL

/// `rediss://`: each connection starts with TLS; the server's certificate
/// must chain to `tlsCAPath` (or the system's roots) and name the host
/// (a DNS name, or the IP address connected to).
enum RedisTLS {
    static func handler(for configuration: RedisClient.Configuration) throws -> NIOSSLClientHandler {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if let caPath = configuration.tlsCAPath {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caPath))
        }
        let context = try NIOSSLContext(configuration: tls)
        // An IP address cannot go in SNI; NIOSSL then checks the certificate against the address connected to.
        let isAddress = (try? SocketAddress(ipAddress: configuration.host, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isAddress ? nil : configuration.host)
    }
}
