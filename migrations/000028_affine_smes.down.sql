CREATE INDEX organisations_naf_departement ON organisations (naf_code, departement)
    WHERE status = 'member' AND kind IN ('pme', 'eti');
DROP INDEX organisations_affine;
