import BatonStore

extension BatonDatabase: StoreHealth {
    public func isReady() async -> Bool { await isSchemaCurrent() }
}

extension Stores {
    /// Every store on one SQLite database, for the composition root to hand to the roles.
    public static func sqlite(_ database: BatonDatabase) -> Stores {
        Stores(
            jobs: SQLiteJobStore(database), tickets: SQLiteTicketStore(database), claims: SQLiteClaimStore(database),
            scheduler: SQLiteSchedulerStore(database), leases: SQLiteLeaderLeaseStore(database), nodes: SQLiteNodeStore(database),
            retention: SQLiteRetentionStore(database), health: database)
    }
}
