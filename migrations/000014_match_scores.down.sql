DROP TABLE match_feedback;
DROP INDEX request_matches_invited;
DROP INDEX request_matches_ranked;
ALTER TABLE request_matches DROP COLUMN invited_at, DROP COLUMN computed_at, DROP COLUMN best_offer_id,
    DROP COLUMN reasons, DROP COLUMN rank, DROP COLUMN score;
