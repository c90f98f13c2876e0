DROP TRIGGER organisations_evidence_update ON organisations;
DROP TRIGGER organisations_evidence_delete ON organisations;
DROP TRIGGER organisations_evidence_insert ON organisations;
DROP TRIGGER references_evidence_update ON org_references;
DROP TRIGGER references_evidence_delete ON org_references;
DROP TRIGGER references_evidence_insert ON org_references;
DROP FUNCTION evidence_log_write();
DROP TABLE evidence_log;
