-- The SMEs whose trade, place, membership or past contracts changed, in
-- the order their changes were written, with the transaction that wrote
-- them: a server holding that evidence in memory (matching.Memory) reads
-- what came after what it holds, and again the rows of the transactions
-- still running when it last read (a lower number may commit after a
-- higher one). Statement triggers: an import of a million contracts
-- writes one row per SME, not per contract.
CREATE TABLE evidence_log (
    seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint NOT NULL,
    xid              xid8 NOT NULL DEFAULT pg_current_xact_id(),
    logged_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evidence_log_xid ON evidence_log (xid);

CREATE FUNCTION evidence_log_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO evidence_log (organisation_id)
        SELECT DISTINCT x.organisation_id FROM new_rows x;
    RETURN NULL;
END $$;
CREATE FUNCTION evidence_log_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO evidence_log (organisation_id)
        SELECT DISTINCT x.organisation_id FROM old_rows x;
    RETURN NULL;
END $$;
CREATE FUNCTION evidence_log_both() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO evidence_log (organisation_id)
        SELECT organisation_id FROM new_rows UNION SELECT organisation_id FROM old_rows;
    RETURN NULL;
END $$;
CREATE TRIGGER references_evidence_insert AFTER INSERT ON org_references
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_new();
CREATE TRIGGER references_evidence_delete AFTER DELETE ON org_references
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_old();
CREATE TRIGGER references_evidence_update AFTER UPDATE ON org_references
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_both();

-- Organisations: their own id.
CREATE FUNCTION evidence_log_org_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO evidence_log (organisation_id) SELECT x.id FROM new_rows x;
    RETURN NULL;
END $$;
CREATE FUNCTION evidence_log_org_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO evidence_log (organisation_id) SELECT x.id FROM old_rows x;
    RETURN NULL;
END $$;
CREATE TRIGGER organisations_evidence_insert AFTER INSERT ON organisations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_org_new();
CREATE TRIGGER organisations_evidence_delete AFTER DELETE ON organisations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_org_old();
CREATE TRIGGER organisations_evidence_update AFTER UPDATE ON organisations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_org_new();
