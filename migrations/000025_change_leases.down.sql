ALTER TABLE match_changes DROP COLUMN leased_until;
