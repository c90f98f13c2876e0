-- The recompute leases a batch of changes (committed at once) rather than
-- holding them locked in a transaction while it brings every open request
-- up to date: a pass cut off leaves its changes to the next once the lease
-- is over, and no transaction stays open for the length of a pass.
ALTER TABLE match_changes ADD COLUMN leased_until timestamptz;
