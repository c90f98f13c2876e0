DROP TRIGGER references_match_change ON org_references;
DROP TRIGGER offers_match_change ON offers;
DROP FUNCTION match_change();
DROP TABLE match_changes;
DROP TABLE match_feedback;
DROP INDEX request_matches_invited;
DROP INDEX request_matches_ranked;
ALTER TABLE request_matches DROP COLUMN invited_at, DROP COLUMN computed_at, DROP COLUMN best_offer_id,
    DROP COLUMN reasons, DROP COLUMN rank, DROP COLUMN score;
