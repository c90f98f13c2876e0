-- How far the change log has been pruned: the newest transaction id among
-- the entries deleted. A server whose index snapshot does not see that
-- transaction (its snapshot is older than a day) may have missed a pruned
-- change: it rebuilds instead of following the log.
CREATE TABLE search_changes_pruned (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    xid  xid8 NOT NULL DEFAULT '0'
);
INSERT INTO search_changes_pruned DEFAULT VALUES;
