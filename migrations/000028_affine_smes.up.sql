-- The SMEs of affine activities in a request's département (up to 2,000
-- by id) were found through organisations_naf_departement, then each read
-- from its row for its id: up to 6,000 heap pages for one ranking in
-- Paris, 63 ms at p95 in the matching benchmark. This index holds the id
-- too, so the search reads the index alone (the visibility map allowing).
CREATE INDEX organisations_affine ON organisations (departement, naf_code) INCLUDE (id)
    WHERE status = 'member' AND kind IN ('pme', 'eti');
DROP INDEX organisations_naf_departement;
