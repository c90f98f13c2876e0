-- The in-memory search index follows the change log by transaction ids and
-- snapshots instead of clock times: each poll applies exactly the changes
-- committed since the snapshot it last saw (pg_visible_in_snapshot), once,
-- whatever the length of a transaction or the skew between clocks. The
-- trigger-written rows get their transaction's id by default.
ALTER TABLE search_changes ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX search_changes_xid ON search_changes (xid);
