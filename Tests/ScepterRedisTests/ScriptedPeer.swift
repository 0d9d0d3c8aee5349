import Foundation
import ScepterTesting

/// A loopback TCP peer that is not Redis: for each connection it reads the
/// first bytes, then answers `reply` (if any) and closes. Accepts on a thread
/// of its own (the calls block) until `stop()`.
final class ScriptedPeer: Sendable {
    private let listener: LoopbackListener
    var port: Int { listener.port }

    init(reply: [UInt8]?) throws {
        let listener = try LoopbackListener()
        self.listener = listener
        let descriptor = listener.descriptor
        Thread.detachNewThread {
            while true {
                let connection = accept(descriptor, nil, nil)
                guard connection >= 0 else { return }  // stop() shut the listener down
                var buffer = [UInt8](repeating: 0, count: 4096)
                _ = read(connection, &buffer, buffer.count)
                if let reply { _ = reply.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) } }
                close(connection)
            }
        }
    }

    /// Wakes the accepting thread (shutdown, unlike close, does) so it ends.
    func stop() { shutdown(listener.descriptor, Int32(SHUT_RDWR)) }
}
