import Foundation

/// Splits a PEM bundle into its blocks, tolerant of how certificates get exported.
///
/// Lenient where real exports differ (CRLF, 76-column lines, blank lines,
/// text between blocks, indentation, files joined with `cat` when the first
/// did not end with a newline) and strict where the content would be
/// ambiguous (a block without END, mismatched labels, bad base64).
enum PEMBundle {
    /// One `-----BEGIN label-----` … `-----END label-----` block.
    struct Block: Sendable {
        var label: String
        var der: [UInt8]
    }

    /// The blocks in bundle order; the failure names the block (1-based) and why.
    static func blocks(in text: String) -> Result<[Block], BlockError> {
        var blocks: [Block] = []
        var open: (label: String, body: String)?
        // `-----END X----------BEGIN Y-----` on one line: two exports joined without a newline.
        let text = text.replacingOccurrences(of: "----------BEGIN ", with: "-----\n-----BEGIN ")

        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            let position = blocks.count + 1
            if let label = marker(line, kind: "BEGIN") {
                guard open == nil else {
                    return .failure(
                        BlockError(position: position, reason: "BEGIN inside a block; an END line is missing")
                    )
                }
                open = (label, "")
            } else if let label = marker(line, kind: "END") {
                guard let current = open else {
                    return .failure(BlockError(position: position, reason: "END \(label) without a BEGIN"))
                }
                guard label == current.label else {
                    return .failure(
                        BlockError(position: position, reason: "BEGIN \(current.label) ends with END \(label)")
                    )
                }
                guard let der = Data(base64Encoded: current.body), !der.isEmpty else {
                    return .failure(BlockError(position: position, reason: "the body of \(label) is not base64"))
                }
                blocks.append(Block(label: label, der: Array(der)))
                open = nil
            } else if open != nil {
                open?.body += line
            }
        }
        if let current = open {
            return .failure(
                BlockError(position: blocks.count + 1, reason: "\(current.label) has no END line")
            )
        }
        return .success(blocks)
    }

    /// Why a bundle could not be split, and at which block.
    struct BlockError: Error, Sendable {
        /// The block's 1-based position in the bundle.
        var position: Int
        var reason: String
    }

    private static func marker(_ line: String, kind: String) -> String? {
        let prefix = "-----\(kind) "
        let suffix = "-----"
        guard line.hasPrefix(prefix), line.hasSuffix(suffix), line.count >= prefix.count + suffix.count else {
            return nil
        }
        return String(line.dropFirst(prefix.count).dropLast(suffix.count))
    }
}
