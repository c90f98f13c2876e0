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

-- One function for both tables and every statement: an organisation logs
-- its own id, a past contract its SME's; an update logs the SMEs before
-- and after (a contract may move from one SME to another).
CREATE FUNCTION evidence_log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'organisations' AND TG_OP = 'DELETE' THEN
        INSERT INTO evidence_log (organisation_id) SELECT id FROM old_rows;
    ELSIF TG_TABLE_NAME = 'organisations' THEN
        INSERT INTO evidence_log (organisation_id) SELECT id FROM new_rows;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO evidence_log (organisation_id) SELECT DISTINCT organisation_id FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO evidence_log (organisation_id) SELECT DISTINCT organisation_id FROM old_rows;
    ELSE
        INSERT INTO evidence_log (organisation_id) SELECT organisation_id FROM new_rows UNION SELECT organisation_id FROM old_rows;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER references_evidence_insert AFTER INSERT ON org_references
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_write();
CREATE TRIGGER references_evidence_delete AFTER DELETE ON org_references
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_write();
CREATE TRIGGER references_evidence_update AFTER UPDATE ON org_references
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_write();
CREATE TRIGGER organisations_evidence_insert AFTER INSERT ON organisations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_write();
CREATE TRIGGER organisations_evidence_delete AFTER DELETE ON organisations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_write();
CREATE TRIGGER organisations_evidence_update AFTER UPDATE ON organisations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_write();
