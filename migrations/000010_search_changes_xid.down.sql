DROP INDEX search_changes_xid;
ALTER TABLE search_changes DROP COLUMN xid;
