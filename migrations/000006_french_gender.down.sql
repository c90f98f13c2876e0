ALTER TABLE organisations DROP COLUMN search;
ALTER TABLE organisations ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('french_unaccent', legal_name), 'A') ||
    setweight(to_tsvector('french_unaccent', description), 'B') ||
    setweight(to_tsvector('french_unaccent', search_extra), 'C')) STORED;
CREATE INDEX organisations_directory ON organisations USING gin (search, facets)
    WHERE status = 'member' AND kind IN ('pme', 'eti');

ALTER TABLE offers DROP COLUMN search;
ALTER TABLE offers ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('french_unaccent', title), 'A') ||
    setweight(to_tsvector('french_unaccent', keywords), 'A') ||
    setweight(to_tsvector('french_unaccent', summary), 'B') ||
    setweight(to_tsvector('french_unaccent', cpv_text), 'B') ||
    setweight(to_tsvector('french_unaccent', description), 'C')) STORED;
CREATE INDEX offers_catalogue ON offers USING gin (search, facets) WHERE listed;

DROP FUNCTION fr_tsquery(text);
DROP FUNCTION fr_tsvector(text);
DROP FUNCTION fr_fold(text);

INSERT INTO search_changes (list)
    SELECT 'all' WHERE EXISTS (SELECT 1 FROM organisations);
