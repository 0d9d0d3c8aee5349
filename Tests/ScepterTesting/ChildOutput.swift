import Foundation

/// What a child process prints, read as it comes.
public enum ChildOutput {
    public struct Reading: Sendable {
        /// Everything read.
        public var text: String
        /// Whether `until` held before the process exited or time ran out.
        public var done: Bool
    }

    /// Reads `handle` (the child's standard output or error) until `until`
    /// holds for the whole lines read so far, the process has exited, or
    /// `timeout` has passed; a tenth of a second at a time, so a silent
    /// process cannot outlive the timeout. It blocks: call it off the pool
    /// (`Shell.offPool`).
    public static func read(
        _ handle: FileHandle, of process: Process, timeout: TimeInterval = 60, until: (String) -> Bool
    ) -> Reading {
        var text = ""
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            var readable = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&readable, 1, 100) > 0 else {
                if process.isRunning { continue } else { break }
            }
            let chunk = handle.availableData
            // End of output: the process is exiting.
            guard !chunk.isEmpty else { break }
            text += String(decoding: chunk, as: UTF8.self)
            // Whole lines only: a chunk may end inside one.
            if let end = text.lastIndex(of: "\n"), until(String(text[...end])) { return Reading(text: text, done: true) }
        }
        return Reading(text: text, done: false)
    }
}
