-- Snapshots of the in-memory search index, written by any server and
-- loaded by a starting one instead of rebuilding from every row: the
-- bytes in chunks, with the change-log position they cover (the database
-- snapshot the index reflects, and the last change applied), their size
-- and checksum. Only complete snapshots are read; a writer keeps the
-- latest and deletes the older ones.
CREATE TABLE search_snapshots (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    format      int NOT NULL,
    snap        text NOT NULL,     -- pg_snapshot the index reflects
    applied     bigint NOT NULL,   -- the last search_changes seq applied
    size        bigint NOT NULL,
    checksum    bigint NOT NULL,   -- CRC-32C of the bytes
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE search_snapshot_chunks (
    snapshot_id bigint NOT NULL REFERENCES search_snapshots (id) ON DELETE CASCADE,
    n           int NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (snapshot_id, n)
);
-- The chunks are already dense binary: compressing them costs time at
-- every start for little gain.
ALTER TABLE search_snapshot_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
