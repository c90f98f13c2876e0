-- SME profiles (places served, certifications, references), innovation
-- offers and what the directory and catalogue search run on.
--
-- Search design (see docs/BENCHMARKS.md for the measurements behind it):
--  * `search` is a weighted tsvector computed by PostgreSQL from the row
--    (french_unaccent: accents ignored, French stemming).
--  * `facets` is a text[] of facet keys written by the application
--    ("div:72", "cpv:722", "reg:11", "dep:75", "trl:7", "size:pme",
--    "kind:service", "cert"). Filtering by facets is `facets @> ARRAY[...]`.
--  * One multi-column GIN index over (search, facets), partial on what is
--    listed, lets PostgreSQL intersect the posting lists of the words and
--    of the facet keys in a single index scan, as a search engine would.

CREATE TYPE offer_status AS ENUM ('draft', 'submitted', 'published', 'archived', 'rejected');
CREATE TYPE offer_kind AS ENUM ('product', 'service', 'technology', 'rd_partnership');

ALTER TABLE organisations
    ADD COLUMN places        text[] NOT NULL DEFAULT '{}',  -- "dep:75", "reg:84": where it works
    ADD COLUMN search_extra  text NOT NULL DEFAULT '',      -- NAF label, certifications, references' objects
    ADD COLUMN facets        text[] NOT NULL DEFAULT '{}',
    ADD COLUMN updated_at    timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN search        tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('french_unaccent', legal_name), 'A') ||
        setweight(to_tsvector('french_unaccent', description), 'B') ||
        setweight(to_tsvector('french_unaccent', search_extra), 'C')) STORED;

-- The directory lists member SMEs only.
CREATE INDEX organisations_directory ON organisations USING gin (search, facets)
    WHERE status = 'member' AND kind IN ('pme', 'eti');
CREATE INDEX organisations_directory_name_trgm ON organisations
    USING gin (immutable_unaccent(lower(legal_name)) gin_trgm_ops)
    WHERE status = 'member' AND kind IN ('pme', 'eti');
CREATE INDEX organisations_directory_name ON organisations (lower(legal_name), id)
    WHERE status = 'member' AND kind IN ('pme', 'eti');
CREATE INDEX organisations_siren ON organisations (siren);

CREATE TABLE certifications (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    issuer           text NOT NULL DEFAULT '' CHECK (length(issuer) <= 120),
    expires_on       date,  -- NULL: does not expire
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX certifications_organisation ON certifications (organisation_id);

-- Past contracts an SME shows as evidence; imported from public award data
-- (source 'decp', source_uid = the DECP record's uid) or typed by hand.
CREATE TABLE org_references (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    client           text NOT NULL CHECK (length(client) BETWEEN 1 AND 200),
    object           text NOT NULL CHECK (length(object) BETWEEN 1 AND 1000),
    cpv_code         text NOT NULL CHECK (cpv_code ~ '^[0-9]{8}$'),
    amount_eur       bigint CHECK (amount_eur >= 0),  -- € HT; NULL when unknown
    year             int CHECK (year BETWEEN 1990 AND 2100),
    departement      text NOT NULL DEFAULT '',
    source           text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'decp')),
    source_uid       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX org_references_organisation ON org_references (organisation_id);
CREATE UNIQUE INDEX org_references_source ON org_references (organisation_id, source_uid) WHERE source_uid <> '';

CREATE TABLE offers (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 150),
    summary          text NOT NULL CHECK (length(summary) BETWEEN 1 AND 300),
    description      text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    kind             offer_kind NOT NULL,
    cpv_codes        text[] NOT NULL CHECK (cardinality(cpv_codes) BETWEEN 1 AND 10),
    trl              smallint CHECK (trl BETWEEN 1 AND 9),
    places           text[] NOT NULL DEFAULT '{}',
    keywords         text NOT NULL DEFAULT '' CHECK (length(keywords) <= 300),
    cpv_text         text NOT NULL DEFAULT '',  -- French labels of cpv_codes, for search
    status           offer_status NOT NULL DEFAULT 'draft',
    status_reason    text NOT NULL DEFAULT '',
    facets           text[] NOT NULL DEFAULT '{}',
    listed           boolean NOT NULL DEFAULT false,  -- published and its organisation a member (trigger)
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    submitted_at     timestamptz,
    published_at     timestamptz,
    search           tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('french_unaccent', title), 'A') ||
        setweight(to_tsvector('french_unaccent', keywords), 'A') ||
        setweight(to_tsvector('french_unaccent', summary), 'B') ||
        setweight(to_tsvector('french_unaccent', cpv_text), 'B') ||
        setweight(to_tsvector('french_unaccent', description), 'C')) STORED
);
CREATE INDEX offers_organisation ON offers (organisation_id);
CREATE INDEX offers_review ON offers (submitted_at, id) WHERE status = 'submitted';
CREATE INDEX offers_catalogue ON offers USING gin (search, facets) WHERE listed;
CREATE INDEX offers_catalogue_recent ON offers (published_at DESC, id DESC) WHERE listed;

-- listed = published and owned by a member organisation; kept true by
-- triggers so that suspending a member hides its offers at once.
CREATE FUNCTION offers_set_listed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.listed := NEW.status = 'published' AND EXISTS (
        SELECT 1 FROM organisations o WHERE o.id = NEW.organisation_id AND o.status = 'member');
    RETURN NEW;
END $$;
CREATE TRIGGER offers_listed BEFORE INSERT OR UPDATE OF status, organisation_id ON offers
    FOR EACH ROW EXECUTE FUNCTION offers_set_listed();

CREATE FUNCTION organisations_relist_offers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE offers SET listed = (status = 'published' AND NEW.status = 'member')
     WHERE organisation_id = NEW.id AND listed IS DISTINCT FROM (status = 'published' AND NEW.status = 'member');
    RETURN NULL;
END $$;
CREATE TRIGGER organisations_relist AFTER UPDATE OF status ON organisations
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION organisations_relist_offers();
