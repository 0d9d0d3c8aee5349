import Glibc

/// A blocking HTTP/1.1 keep-alive connection to 127.0.0.1, one per load
/// thread. Deliberately minimal: the load generator must cost little CPU and
/// nothing it does may run on the server's core, so no event loop, no pool.
final class HTTPConnection {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    let port: UInt16
    private var socket: Int32 = -1
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    /// Connections opened so far (1 when keep-alive held throughout).
    private(set) var connects = 0

    /// Seconds a send or a wait for reply bytes may take before `ReplyTimeout` (nil: no bound).
    let timeout: Double?

    init(port: UInt16, timeout: Double? = nil) {
        self.port = port
        self.timeout = timeout
    }

    deinit { close() }

    func close() {
        if socket >= 0 { Glibc.close(socket) }
        socket = -1
        buffer.removeAll(keepingCapacity: true)
        bufferStart = 0
    }

    /// `headers`: extra header lines, e.g. `Authorization: Bearer …`.
    func get(_ path: String, headers: [String] = []) throws -> Response {
        try exchange(method: "GET", path: path, contentType: nil, body: [], headers: headers)
    }

    func post(_ path: String, contentType: String, body: [UInt8], headers: [String] = []) throws -> Response {
        try exchange(method: "POST", path: path, contentType: contentType, body: body, headers: headers)
    }

    /// One request and its response; reconnects once if a kept-alive
    /// connection turns out to be closed before anything was read.
    private func exchange(method: String, path: String, contentType: String?, body: [UInt8], headers: [String]) throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUser-Agent: scepter-bench\r\n"
        for header in headers { head += header + "\r\n" }
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        if method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        let request = Array(head.utf8) + body
        let reused = socket >= 0
        if !reused { try connect() }
        do {
            try writeAll(request)
            return try readResponse()
        } catch let error as ConnectionClosed where reused && error.beforeAnyByte {
            close()
            try connect()
            try writeAll(request)
            return try readResponse()
        }
    }

    struct ConnectionClosed: Error, CustomStringConvertible {
        var beforeAnyByte: Bool
        var description: String { "connection closed by the server" + (beforeAnyByte ? "" : " in the middle of a response") }
    }

    /// No byte of the reply within `timeout`.
    struct ReplyTimeout: Error, CustomStringConvertible {
        var seconds: Double
        var description: String { "no reply within \(seconds) s" }
    }

    struct SocketError: Error, CustomStringConvertible {
        var description: String
        init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
    }

    private func connect() throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let error = SocketError("connect to 127.0.0.1:\(port)")
            Glibc.close(fd)
            throw error
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        if let timeout {
            var value = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        }
        socket = fd
        connects += 1
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { send(socket, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE || errno == ECONNRESET { throw ConnectionClosed(beforeAnyByte: true) }
                if let timeout, errno == EAGAIN || errno == EWOULDBLOCK { throw ReplyTimeout(seconds: timeout) }
                throw SocketError("send")
            }
            offset += written
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill() throws -> Bool {
        if bufferStart > 0 && bufferStart == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            bufferStart = 0
        }
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == ECONNRESET { return false }
                if let timeout, errno == EAGAIN || errno == EWOULDBLOCK { throw ReplyTimeout(seconds: timeout) }
                throw SocketError("recv")
            }
            if count == 0 { return false }
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
    }

    private func readLine(first: Bool) throws -> String {
        while true {
            if let index = buffer[bufferStart...].firstIndex(of: 0x0A) {
                var end = index
                if end > bufferStart && buffer[end - 1] == 0x0D { end -= 1 }
                let line = String(decoding: buffer[bufferStart..<end], as: UTF8.self)
                bufferStart = index + 1
                return line
            }
            let hadBytes = bufferStart < buffer.count
            guard try fill() else { throw ConnectionClosed(beforeAnyByte: first && !hadBytes) }
        }
    }

    private func readBytes(_ count: Int) throws -> [UInt8] {
        while buffer.count - bufferStart < count {
            guard try fill() else { throw ConnectionClosed(beforeAnyByte: false) }
        }
        let bytes = Array(buffer[bufferStart..<bufferStart + count])
        bufferStart += count
        return bytes
    }

    private func readResponse() throws -> Response {
        let statusLine = try readLine(first: true)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw BenchError("malformed HTTP status line: \(statusLine.prefix(80))")
        }
        var headers: [(String, String)] = []
        while true {
            let line = try readLine(first: false)
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingSpaces()))
        }
        var response = Response(status: status, headers: headers, body: [])
        if response.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = try readLine(first: false)
                guard let size = Int(sizeLine.split(separator: ";")[0].trimmingSpaces(), radix: 16) else {
                    throw BenchError("malformed chunk size: \(sizeLine.prefix(40))")
                }
                if size == 0 {
                    while try !readLine(first: false).isEmpty {}
                    break
                }
                response.body += try readBytes(size)
                _ = try readLine(first: false)
            }
        } else if let length = response.header("Content-Length").flatMap({ Int($0) }) {
            response.body = try readBytes(length)
        } else {
            // No framing: the body runs to the end of the connection.
            while try fill() {}
            response.body = Array(buffer[bufferStart...])
            close()
            return response
        }
        if response.header("Connection")?.lowercased() == "close" { close() }
        return response
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
