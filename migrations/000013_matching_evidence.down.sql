DROP INDEX organisations_naf_departement;
DROP INDEX org_references_text;
DROP INDEX org_references_client;
DROP INDEX org_references_cpv;
ALTER TABLE org_references DROP COLUMN client_siret;
