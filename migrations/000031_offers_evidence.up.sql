-- A server holding the listed offers by région and category in memory
-- (matching.Memory, beside the SMEs' trades and past contracts) reads them
-- again for the SMEs in evidence_log: a change of offer_categories (kept
-- by the offers' triggers) logs its SME, as a past contract does. The
-- same statement triggers and function (evidence_log_write logs a row's
-- organisation_id).
CREATE TRIGGER offer_categories_evidence_insert AFTER INSERT ON offer_categories
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_write();
CREATE TRIGGER offer_categories_evidence_delete AFTER DELETE ON offer_categories
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_write();
CREATE TRIGGER offer_categories_evidence_update AFTER UPDATE ON offer_categories
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION evidence_log_write();
