import Foundation
import Synchronization

/// Pipes to the tests' child processes, and the spawns that use them.
///
/// Foundation makes a `Pipe` without close-on-exec and spawns a `Process`
/// without closing the descriptors it did not hand over, so a server started
/// while another test's tool runs keeps that tool's pipe open: the tool
/// exits, its reader never sees the end of its output, and the suite hangs
/// (seen in CI: a `scepter dev` holding forty other children's pipes). Each
/// pipe made here is close-on-exec from the start, under the lock every spawn
/// here takes, so only the child it is handed to (as its standard input,
/// output or error, which `dup2` makes without the flag) ever holds it.
public enum ChildProcessPipes {
    private static let spawning = Mutex(())

    /// A pipe whose descriptors no other child inherits.
    public static func make() -> Pipe {
        spawning.withLock { _ in
            let pipe = Pipe()
            for descriptor in [pipe.fileHandleForReading.fileDescriptor, pipe.fileHandleForWriting.fileDescriptor] {
                _ = fcntl(descriptor, F_SETFD, fcntl(descriptor, F_GETFD) | FD_CLOEXEC)
            }
            return pipe
        }
    }

    /// Starts `process`, never while another pipe is still being made.
    public static func run(_ process: Process) throws {
        try spawning.withLock { _ in try process.run() }
    }
}
