-- French search finds every gender and number of a word, typed with or
-- without accents. Accents used to be removed before the Snowball stemmer,
-- which needs "é" to strip the past participles' "-ée"/"-és": "connectée"
-- indexed as "connecte" while "connectés" gave "connect", and a query
-- typed "securisee" missed "sécurisé".
--
-- fr_fold removes accents, lower-cases (in that order: lower() leaves "É"
-- as it is in a C locale), splits "a/b" (unaccented, the parser would read
-- "surete/securite" as one file path), then gives the past participles'
-- feminine endings one form the stemmer strips like the masculine ones:
-- "-iée(s)" becomes "-ie(s)" ("dédiée" → "dedie", as "dédié" → "dedie"),
-- and "-ée(s)" (also "-éée(s)") becomes "-é(s)" ("connectée" → "connecté",
-- whose "é" the stemmer removes). Every document and every query goes
-- through the same fold, so typed with or without accents, in any gender
-- and number, they meet on the same lexemes. Search, the in-memory index (which reads these
-- tsvectors and queries) and the matching service all use fr_tsvector and
-- fr_tsquery, never to_tsvector/websearch_to_tsquery directly.
CREATE FUNCTION fr_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN regexp_replace(regexp_replace(translate(lower(immutable_unaccent($1)), '/', ' '),
        'iee(s?)\M', 'ie\1', 'g'),
        'e?ee(s?)\M', 'é\1', 'g');

CREATE FUNCTION fr_tsvector(text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN to_tsvector('pg_catalog.french', fr_fold($1));

CREATE FUNCTION fr_tsquery(text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN websearch_to_tsquery('pg_catalog.french', fr_fold($1));

ALTER TABLE organisations DROP COLUMN search;
ALTER TABLE organisations ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(fr_tsvector(legal_name), 'A') ||
    setweight(fr_tsvector(description), 'B') ||
    setweight(fr_tsvector(search_extra), 'C')) STORED;
CREATE INDEX organisations_directory ON organisations USING gin (search, facets)
    WHERE status = 'member' AND kind IN ('pme', 'eti');

ALTER TABLE offers DROP COLUMN search;
ALTER TABLE offers ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(fr_tsvector(title), 'A') ||
    setweight(fr_tsvector(keywords), 'A') ||
    setweight(fr_tsvector(summary), 'B') ||
    setweight(fr_tsvector(cpv_text), 'B') ||
    setweight(fr_tsvector(description), 'C')) STORED;
CREATE INDEX offers_catalogue ON offers USING gin (search, facets) WHERE listed;

-- Every server's in-memory index rebuilds from the new vectors.
INSERT INTO search_changes (list)
    SELECT 'all' WHERE EXISTS (SELECT 1 FROM organisations);
