DROP TABLE search_snapshot_chunks;
DROP TABLE search_snapshots;
