import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

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
        let data = try encoder().encode(value)
        var fields = HTTPFields()
        fields[.contentType] = contentType
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The request body, at most 1 MiB (Hummingbird raises 413 beyond that while reading).
    static func read(_ request: Request) async throws -> Data {
        var request = request
        let buffer = try await request.collectBody(upTo: maximumRequestSize)
        return Data(buffer.readableBytesView)
    }
}
