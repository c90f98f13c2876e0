-- The change log the in-memory search index follows (internal/searchindex).
-- Triggers write it in the same transaction as the change, whoever makes
-- it (a page, a job, a command), so no server's index misses one.
CREATE TABLE search_changes (
    seq   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    list  text NOT NULL CHECK (list IN ('offers', 'smes', 'all')),  -- 'all': rebuild everything
    id    bigint NOT NULL DEFAULT 0,
    at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX search_changes_at ON search_changes (at);

CREATE FUNCTION search_change_offer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_changes (list, id) VALUES ('offers', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    RETURN NULL;
END $$;
CREATE TRIGGER offers_search_change AFTER INSERT OR UPDATE OR DELETE ON offers
    FOR EACH ROW EXECUTE FUNCTION search_change_offer();

CREATE FUNCTION search_change_organisation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_changes (list, id) VALUES ('smes', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    RETURN NULL;
END $$;
CREATE TRIGGER organisations_search_change AFTER INSERT OR UPDATE OR DELETE ON organisations
    FOR EACH ROW EXECUTE FUNCTION search_change_organisation();
