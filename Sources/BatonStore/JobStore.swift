import BatonCore

/// A page of a keyset-paginated list.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

/// Jobs as the gateway and the scheduler see them. Names are unique among live jobs;
/// a deleted job keeps its row (and history) with `deleted_at` set.
public protocol JobStore: Sendable {
    func create(_ spec: JobSpec, now: Timestamp) async throws(StoreError) -> Job
    /// Creates the job or replaces its spec; `ifRevision` makes it conditional (`If-Match`).
    func put(_ spec: JobSpec, ifRevision: Int64?, now: Timestamp) async throws(StoreError) -> (job: Job, created: Bool)
    func job(named name: String) async throws(StoreError) -> Job?
    func job(id: JobID, revision: Int64) async throws(StoreError) -> JobSpec?
    func list(limit: Int, after cursor: String?, label: (String, String)?, paused: Bool?) async throws(StoreError) -> Page<Job>
    func setPaused(_ paused: Bool, name: String, ifRevision: Int64?, now: Timestamp) async throws(StoreError) -> Job
    /// Deletes the job: its pending and retrying tickets are cancelled, running ones asked to stop, history kept.
    func delete(name: String, ifRevision: Int64?, now: Timestamp) async throws(StoreError)
}


extension Page {
    /// A keyset page from a query that fetched up to `limit + 1` rows in cursor order: the extra row only says that
    /// there is a next page, which starts after the last item kept.
    package init(fetched items: [Item], limit: Int, cursor: (Item) -> String) {
        self.init(items: Array(items.prefix(limit)), nextCursor: items.count > limit ? items.prefix(limit).last.map(cursor) : nil)
    }
}
