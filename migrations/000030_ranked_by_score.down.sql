DROP TRIGGER request_matches_ranked_follows_rank ON request_matches;
DROP FUNCTION request_matches_ranked_follows_rank();
DROP INDEX request_matches_by_score;
-- The places as the previous release stored them.
ALTER TABLE request_matches DISABLE TRIGGER request_matches_platform_update;
UPDATE request_matches m SET rank = x.rank
FROM (SELECT request_id, organisation_id, row_number() OVER (PARTITION BY request_id ORDER BY score DESC, organisation_id) AS rank
      FROM request_matches WHERE ranked) x
WHERE m.request_id = x.request_id AND m.organisation_id = x.organisation_id AND m.rank IS DISTINCT FROM x.rank;
ALTER TABLE request_matches ENABLE TRIGGER request_matches_platform_update;
ALTER TABLE request_matches DROP COLUMN ranked;
