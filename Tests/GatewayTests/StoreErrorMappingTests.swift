import BatonStore
import HTTPTypes
import Testing

@testable import Gateway

/// Issue 13 item 6: each store error becomes the status that tells the client what to do.
@Suite("Store errors as HTTP problems")
struct StoreErrorMappingTests {
    @Test(arguments: [
        (StoreError.Code.conflict, HTTPResponse.Status.conflict, false),
        (.notFound, .notFound, false),
        (.revisionMismatch, .preconditionFailed, false),
        (.invalidArgument, .badRequest, false),
        (.unavailable, .serviceUnavailable, true),
        (.notLeader, .serviceUnavailable, true),
        (.schemaTooNew, .serviceUnavailable, true),
        (.corrupt, .serviceUnavailable, true),
        (.cancelled, .serviceUnavailable, true),
        (.internal, .internalServerError, false),
    ])
    func status(_ code: StoreError.Code, _ status: HTTPResponse.Status, _ retryAfter: Bool) {
        let problem = APIError(mapping: StoreError(code, "detail"))
        #expect(problem.status == status)
        #expect((problem.headers["Retry-After"] != nil) == retryAfter, "only a condition that passes says when to retry")
    }
}
