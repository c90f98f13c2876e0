-- What the matching service reads from references, found through indexes
-- rather than by reading every organisation: the buyer a past contract was
-- for (its SIRET; "has already worked for you" compares SIRENs), CPV code prefixes
-- (LIKE '722%' on text_pattern_ops) and the French words of its object.
ALTER TABLE org_references ADD COLUMN client_siret text NOT NULL DEFAULT '';
CREATE INDEX org_references_cpv ON org_references (cpv_code text_pattern_ops);
CREATE INDEX org_references_client ON org_references (left(client_siret, 9)) WHERE client_siret <> '';
CREATE INDEX org_references_text ON org_references USING gin (fr_tsvector(object));
-- SMEs of an activity in a département: the candidates an activity's
-- affinity with a category brings when they have no reference yet.
CREATE INDEX organisations_naf_departement ON organisations (naf_code, departement)
    WHERE status = 'member' AND kind IN ('pme', 'eti');
