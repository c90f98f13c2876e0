DROP TRIGGER IF EXISTS organisations_relist ON organisations;
DROP FUNCTION IF EXISTS organisations_relist_offers();
DROP TABLE IF EXISTS offers;
DROP FUNCTION IF EXISTS offers_set_listed();
DROP TABLE IF EXISTS org_references;
DROP TABLE IF EXISTS certifications;
DROP INDEX IF EXISTS organisations_siren;
DROP INDEX IF EXISTS organisations_directory_name;
DROP INDEX IF EXISTS organisations_directory_name_trgm;
DROP INDEX IF EXISTS organisations_directory;
ALTER TABLE organisations
    DROP COLUMN IF EXISTS search,
    DROP COLUMN IF EXISTS updated_at,
    DROP COLUMN IF EXISTS facets,
    DROP COLUMN IF EXISTS search_extra,
    DROP COLUMN IF EXISTS places;
DROP TYPE IF EXISTS offer_kind;
DROP TYPE IF EXISTS offer_status;
