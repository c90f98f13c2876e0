DROP INDEX org_references_dep_cpv;
DROP INDEX organisations_match;
CREATE INDEX org_references_cpv ON org_references (cpv_code text_pattern_ops);
DROP INDEX org_references_cpv_cover;
