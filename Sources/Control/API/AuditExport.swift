import Foundation
import Hummingbird
import NIOCore
import ScepterProtocol

/// The whole audit search streamed as CSV or NDJSON, a page of rows at a
/// time, so an export of millions of events holds one page in memory.
enum AuditExport {
    enum Format {
        case csv
        case ndjson

        /// From an Accept header; nil: JSON pages as usual.
        init?(accept: String?) {
            guard let accept = accept?.lowercased() else { return nil }
            if accept.contains("text/csv") {
                self = .csv
            } else if accept.contains("application/x-ndjson") {
                self = .ndjson
            } else {
                return nil
            }
        }

        var contentType: String {
            switch self {
            case .csv: "text/csv; charset=utf-8"
            case .ndjson: "application/x-ndjson"
            }
        }
    }

    static let pageSize = 1000

    static let columns = [
        "id", "time", "edge", "source_ip", "profile", "operation", "message_type", "transaction_id", "outcome", "fail_info", "claim_sub",
        "claim_iss", "device_name", "csr_subject", "csr_sans", "serial", "latency_ms", "details",
    ]

    /// The first page is read before the answer starts, so a database that
    /// is down is a 503, not a 200 cut short after the header.
    static func response(_ query: AuditQuery, format: Format, store: any ControlStore) async throws -> Response {
        var query = query
        query.limit = pageSize
        let firstPage = try await store.auditEvents(query)
        let start = query
        let body = ResponseBody { writer in
            if format == .csv { try await writer.write(ByteBuffer(string: columns.joined(separator: ",") + "\r\n")) }
            var query = start
            var page: [AuditEvent]? = firstPage
            while true {
                let events: [AuditEvent]
                if let first = page {
                    events = first
                    page = nil
                } else {
                    events = try await store.auditEvents(query)
                }
                var buffer = ByteBuffer()
                for event in events {
                    switch format {
                    case .csv: buffer.writeString(csvLine(event))
                    case .ndjson:
                        buffer.writeBytes(try APIResponse.encoder().encode(event))
                        buffer.writeString("\n")
                    }
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
                guard events.count == pageSize, let last = events.last else { break }
                query.after = PageCursor(key: last.time, id: last.id)
            }
            try await writer.finish(nil)
        }
        let filename = format == .csv ? "audit.csv" : "audit.ndjson"
        return Response(
            status: .ok, headers: [.contentType: format.contentType, .contentDisposition: "attachment; filename=\"\(filename)\""], body: body)
    }

    /// `2026-11-30` in UTC, as the stores bucket days.
    static func isoDay(_ date: Date) -> Substring {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash)).prefix(10)
    }

    static func csvLine(_ event: AuditEvent) -> String {
        let time = event.time.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        let fields: [String?] = [
            event.id, time, event.edgeID, event.sourceAddress, event.profile, event.operation.rawValue, event.messageType, event.transactionID,
            event.outcome.rawValue, event.failInfo, event.claimSubject, event.claimIssuer, event.deviceName, event.csrSubject, event.csrSANs,
            event.serialNumber, String(format: "%.3f", event.latencyMilliseconds), event.details,
        ]
        return fields.map { csvField($0 ?? "") }.joined(separator: ",") + "\r\n"
    }

    /// RFC 4180 quoting; a cell a spreadsheet would run as a formula gets a leading apostrophe.
    static func csvField(_ value: String) -> String {
        var value = value
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
