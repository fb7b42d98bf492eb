import BatonCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// Encoding and decoding of API bodies, in one place so every response has the same JSON style.
enum JSONBody {
    static let maximumRequestSize = 1 << 20

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A response with `value` as its JSON body.
    static func response(
        _ value: some Encodable, status: HTTPResponse.Status = .ok, contentType: String = "application/json",
        headers: [String: String] = [:]
    ) throws -> Response {
        try response(body: ByteBuffer(bytes: try encoder().encode(value)), status: status, contentType: contentType, headers: headers)
    }

    /// A response with an already encoded JSON body.
    static func response(
        body: ByteBuffer, status: HTTPResponse.Status = .ok, contentType: String = "application/json",
        headers: [String: String] = [:]
    ) throws -> Response {
        var fields = HTTPFields()
        fields[.contentType] = contentType
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: body))
    }

    /// The request body, at most 1 MiB (Hummingbird raises 413 beyond that while reading).
    static func read(_ request: Request) async throws -> Data {
        var request = request
        let buffer = try await request.collectBody(upTo: maximumRequestSize)
        return Data(buffer.readableBytesView)
    }
}

/// A job's encoded GET body, and the job it was encoded from.
struct EncodedJob: Sendable {
    var job: Job
    var body: ByteBuffer
}

/// The encoded body of each job's latest response, reused while the job is unchanged.
///
/// Why: encoding a job with `JSONEncoder` was a fifth of the gateway's CPU per GET. The entry is checked against the
/// whole `Job` as read for this request (revision, state, times, spec: everything the body shows), so a cached body is
/// only ever served for an identical job.
typealias JobBodyCache = BoundedCache<JobID, EncodedJob>

extension BoundedCache where Key == JobID, Value == EncodedJob {
    func body(for job: Job, encode: (Job) throws -> ByteBuffer) rethrows -> ByteBuffer {
        if let hit = self[job.id], hit.job == job { return hit.body }
        let body = try encode(job)
        insert(EncodedJob(job: job, body: body), for: job.id)
        return body
    }
}
