-- Matches as the matching service ranks them: the score, the rank among
-- the request's matches, the reasons (typed codes with values, rendered by
-- the views in the reader's language), the SME's best offer; when it was
-- computed and when the SME was invited by mail (invitations go out in
-- batches down the ranking). Buyers' and SMEs' feedback on a match is kept
-- for tuning.
ALTER TABLE request_matches
    ADD COLUMN score         real,
    ADD COLUMN rank          int,
    ADD COLUMN reasons       jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN best_offer_id bigint REFERENCES offers (id) ON DELETE SET NULL,
    ADD COLUMN computed_at   timestamptz,
    ADD COLUMN invited_at    timestamptz;
CREATE INDEX request_matches_ranked ON request_matches (request_id, rank) WHERE matched;
CREATE INDEX request_matches_invited ON request_matches (organisation_id, invited_at) WHERE invited_at IS NOT NULL;

CREATE TABLE match_feedback (
    request_id       bigint NOT NULL,
    organisation_id  bigint NOT NULL,
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    relevant         boolean NOT NULL,
    reason           text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request_id, organisation_id, user_id),
    FOREIGN KEY (request_id, organisation_id) REFERENCES request_matches (request_id, organisation_id) ON DELETE CASCADE
);

-- Changes to SMEs' offers or references since the matches were last
-- recomputed: a job drains this list and recomputes the matches of the
-- open requests in their CPV divisions. Append-only, so that two
-- transactions writing for the same SME never wait on each other.
CREATE TABLE match_changes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    changed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX match_changes_organisation ON match_changes (organisation_id);
CREATE FUNCTION match_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO match_changes (organisation_id)
        SELECT id FROM organisations WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.organisation_id ELSE NEW.organisation_id END;
    RETURN NULL;
END $$;
CREATE TRIGGER offers_match_change AFTER INSERT OR DELETE OR UPDATE OF status, listed, cpv_codes, places, trl, title ON offers
    FOR EACH ROW EXECUTE FUNCTION match_change();
CREATE TRIGGER references_match_change AFTER INSERT OR DELETE OR UPDATE ON org_references
    FOR EACH ROW EXECUTE FUNCTION match_change();
