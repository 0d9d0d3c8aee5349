import Foundation
import Glibc
import Synchronization

/// A TCP proxy on 127.0.0.1 in front of several backends, as a Kubernetes
/// Service stands in front of control plane replicas: each accepted
/// connection goes to the next backend in turn, skipping one that refuses
/// connections (a replica being restarted). A connection lives as long as
/// both sides keep it open; when either side closes, both are closed.
/// Blocking sockets, one thread per connection: the edges' pools hold a few
/// dozen connections at most.
final class TCPProxy: Sendable {
    let port: UInt16
    let backends: [UInt16]
    private let listener: Int32
    private let next = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let cpu: Int?

    init(backends: [UInt16], cpu: Int?) throws {
        self.backends = backends
        self.cpu = cpu
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("proxy: socket failed") }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 512) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else {
            Glibc.close(descriptor)
            throw BenchError("proxy: cannot listen on 127.0.0.1")
        }
        listener = descriptor
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    private func acceptLoop() {
        pinCurrentThread(to: cpu)
        while !stopped.load(ordering: .relaxed) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            let thread = Thread { [self] in
                pinCurrentThread(to: cpu)
                serve(client)
            }
            thread.stackSize = 256 << 10
            thread.start()
        }
    }

    private func serve(_ client: Int32) {
        defer { Glibc.close(client) }
        let first = next.wrappingAdd(1, ordering: .relaxed).oldValue
        var backend: Int32 = -1
        for attempt in 0..<backends.count {
            backend = Self.connect(port: backends[(first + attempt) % backends.count])
            if backend >= 0 { break }
        }
        guard backend >= 0 else { return }
        defer { Glibc.close(backend) }
        var one: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(backend, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var buffer = [UInt8](repeating: 0, count: 65536)
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: backend, events: Int16(POLLIN), revents: 0)]
        while !stopped.load(ordering: .relaxed) {
            // A second's timeout only to notice stop(); idle connections stay open.
            let ready = poll(&fds, 2, 1000)
            if ready < 0 && errno != EINTR { return }
            for (index, entry) in fds.enumerated() where entry.revents != 0 {
                let from = entry.fd
                let to = index == 0 ? backend : client
                let count = buffer.withUnsafeMutableBytes { recv(from, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return }
                var offset = 0
                while offset < count {
                    let written = buffer.withUnsafeBytes { send(to, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }

    /// A connected loopback socket to `port`, or -1.
    static func connect(port: UInt16) -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return -1 }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            Glibc.close(descriptor)
            return -1
        }
        return descriptor
    }
}
