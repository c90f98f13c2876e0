-- A match's place in its request's ranking is read from the ranking's
-- order (score, then organisation), no longer stored: when a change to a
-- few SMEs moved one of them up, every match below it was rewritten for
-- its new rank (and, rank being indexed, with every index of the row) —
-- half of the recompute's time at 100,000 open requests. `ranked` says a
-- match is in its request's ranking (what `rank IS NOT NULL` said).
--
-- Expand phase: servers of the previous release still write and read
-- `rank`; this release writes it too, as the place when the match was
-- scored (for those servers only), and a trigger keeps `ranked` in step
-- with what they write. The next release drops `rank`, its index and the
-- trigger.
ALTER TABLE request_matches ADD COLUMN ranked boolean NOT NULL DEFAULT false;
-- Not a change of any platform figure: the roll-ups' trigger is off while
-- the rows are marked.
ALTER TABLE request_matches DISABLE TRIGGER request_matches_platform_update;
UPDATE request_matches SET ranked = true WHERE rank IS NOT NULL;
ALTER TABLE request_matches ENABLE TRIGGER request_matches_platform_update;
CREATE INDEX request_matches_by_score ON request_matches (request_id, score DESC, organisation_id) WHERE ranked;

CREATE FUNCTION request_matches_ranked_follows_rank() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.ranked := NEW.rank IS NOT NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER request_matches_ranked_follows_rank BEFORE INSERT OR UPDATE OF rank ON request_matches
    FOR EACH ROW EXECUTE FUNCTION request_matches_ranked_follows_rank();
