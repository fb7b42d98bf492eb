import BatonCore
import BatonStore

/// The jobs page's filters (state, queue, label, name prefix) over the API's keyset pagination.
///
/// The store filters by label and paused; the rest is checked here while reading the store's pages in name
/// order, so the cursor stays the API's (the last name shown). One page reads at most ``scanLimit`` jobs: a
/// filter that matches little among many jobs ends a page early and links to the next one, instead of reading
/// the whole table in one request.
struct ConsoleJobFilter {
    static let pageSize = 50
    static let scanLimit = 2000

    var state: JobState?
    var queue: String?
    var label: (key: String, value: String)?
    var prefix: String?

    /// `state`, `queue`, `label` (key:value) and `name` (a prefix); an empty field is no filter, as a GET form
    /// sends every field.
    static func read(_ query: inout QueryReader) -> ConsoleJobFilter {
        var filter = ConsoleJobFilter()
        if let text = query["state"], !text.isEmpty {
            filter.state = JobState(rawValue: text)
            if filter.state == nil {
                query.fail("state", "must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let text = query["queue"], !text.isEmpty {
            if text.utf8.count <= 255 { filter.queue = text } else { query.fail("queue", "must be at most 255 bytes") }
        }
        if let text = query["label"], !text.isEmpty { filter.label = query.label("label") }
        if let text = query["name"], !text.isEmpty {
            // A prefix of a valid name is itself a valid name, or it would never match one.
            if JobSpec.isValidName(text) {
                filter.prefix = text
            } else {
                query.fail("name", "must be the start of a job name: [a-z0-9][a-z0-9._-]{0,62}")
            }
        }
        if let cursor = query["cursor"], !cursor.isEmpty, !JobSpec.isValidName(cursor) {
            query.fail("cursor", "must be the name a previous page ended with")
        }
        return filter
    }

    func matches(_ job: Job) -> Bool {
        if let state, job.state != state { return false }
        if let queue, job.spec.queue != queue { return false }
        if let label, job.spec.labels[label.key] != label.value { return false }
        if let prefix, !job.name.hasPrefix(prefix) { return false }
        return true
    }

    /// Up to ``pageSize`` matching jobs after `cursor` in name order, and the cursor of the next page.
    func page(after cursor: String?, in jobs: any JobStore) async throws -> (jobs: [Job], next: String?) {
        var found: [Job] = []
        var after = cursor
        if cursor == nil, let prefix {
            // Names that start with the prefix are the prefix itself, then a run of names sorting after it.
            if let exact = try await jobs.job(named: prefix), matches(exact) { found.append(exact) }
            after = prefix
        }
        let paused: Bool? = state.map { $0 == .paused }
        var scanned = 0
        while scanned < Self.scanLimit {
            let page = try await jobs.list(limit: 200, after: after, label: label.map { ($0.key, $0.value) }, paused: paused)
            for (index, job) in page.items.enumerated() {
                scanned += 1
                after = job.name
                if let prefix, !job.name.hasPrefix(prefix) { return (found, nil) }
                guard matches(job) else { continue }
                found.append(job)
                if found.count == Self.pageSize {
                    let more = index < page.items.count - 1 || page.nextCursor != nil
                    return (found, more ? job.name : nil)
                }
            }
            if page.nextCursor == nil { return (found, nil) }
        }
        return (found, after)
    }

    /// The filters as query items, for the next page's link.
    var queryItems: [(String, String)] {
        var items: [(String, String)] = []
        if let prefix { items.append(("name", prefix)) }
        if let state { items.append(("state", state.rawValue)) }
        if let queue { items.append(("queue", queue)) }
        if let label { items.append(("label", "\(label.key):\(label.value)")) }
        return items
    }
}
