-- The matching reads past contracts by CPV prefix from the index alone
-- (index-only scan): a class holds thousands of references at national
-- scale, scattered over the table.
CREATE INDEX org_references_cpv_cover ON org_references (cpv_code text_pattern_ops)
    INCLUDE (organisation_id, departement, year, client_siret, source_uid);
DROP INDEX org_references_cpv;
-- What the scoring reads of each candidate SME, from the index alone.
CREATE INDEX organisations_match ON organisations (id) INCLUDE (naf_code, departement, status, kind);
-- Past contracts of a département by CPV prefix, from the index alone.
CREATE INDEX org_references_dep_cpv ON org_references (departement, cpv_code text_pattern_ops)
    INCLUDE (organisation_id, year, source_uid);
