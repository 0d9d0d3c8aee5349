import Glibc
import Synchronization

/// Log lines to file descriptor 2, each in whole: one writer at a time, and
/// a short write resumed, so lines from concurrent tasks never interleave.
enum StandardError {
    private static let lock = Mutex(())

    static func writeLine(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        lock.withLock { _ in
            bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Glibc.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0, errno == EINTR {
                        continue
                    } else {
                        return  // stderr closed or full: a log line is not worth blocking or crashing for
                    }
                }
            }
        }
    }
}
