-- The matching reads, for a request, the listed offers of its categories
-- serving its region: tens of thousands at national scale in the works
-- and insurance groups. Found through the catalogue's GIN index, each is a
-- read of its wide row (title, description, search vector) on its own page:
-- 12,000 pages for one request. This narrow copy holds, for each listed
-- offer, each of its regions and each of its codes' categories (the
-- code's significant digits, at most five: "4521", "72212"), what the
-- matching reads of it, in one index read in (region, category) order
-- (index-only). A request's category key "cpv:P" (P of two to five
-- digits) is the range of categories starting with P: an offer holds the
-- facet cpv:P exactly when one of its codes' categories starts with P.
-- Its places match the request's (facets && place keys) exactly when they
-- share a region: both sides' keys hold the region of each département.
-- Kept by a trigger on offers.
CREATE FUNCTION cpv_category(code text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN length(rtrim(code, '0')) < 2 THEN left(code, 2) ELSE left(rtrim(code, '0'), 5) END
$$;

CREATE TABLE offer_categories (
    region           text COLLATE "C" NOT NULL, -- a "reg:…" facet of the offer, '' when it has none
    category         text COLLATE "C" NOT NULL,
    offer_id         bigint NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    organisation_id  bigint NOT NULL,
    trl              int NOT NULL,
    cpv_codes        text[] NOT NULL,
    places           text[] NOT NULL,
    PRIMARY KEY (region, category, offer_id) INCLUDE (organisation_id, trl, cpv_codes, places)
);
CREATE INDEX offer_categories_offer ON offer_categories (offer_id);

-- The rows of listed offers, as one definition for the trigger, the
-- backfill below and the scale generator's bulk load.
CREATE VIEW offer_category_rows AS
    SELECT DISTINCT coalesce(reg, '') AS region, cpv_category(c) AS category, o.id AS offer_id, o.organisation_id,
        coalesce(o.trl, 0) AS trl, o.cpv_codes, o.places
    FROM offers o CROSS JOIN unnest(o.cpv_codes) c
        LEFT JOIN LATERAL (SELECT f AS reg FROM unnest(o.facets) f WHERE f LIKE 'reg:%') r ON true
    WHERE o.listed;

CREATE FUNCTION offer_categories_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM offer_categories WHERE offer_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.listed THEN
        INSERT INTO offer_categories SELECT * FROM offer_category_rows WHERE offer_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
-- On what a row holds once written: listed is set by a BEFORE trigger from
-- the status, which UPDATE OF listed would not see.
CREATE TRIGGER offers_categories AFTER INSERT OR DELETE ON offers
    FOR EACH ROW EXECUTE FUNCTION offer_categories_refresh();
CREATE TRIGGER offers_categories_update AFTER UPDATE ON offers FOR EACH ROW
    WHEN ((OLD.listed, OLD.organisation_id, OLD.trl, OLD.cpv_codes, OLD.places, OLD.facets)
        IS DISTINCT FROM (NEW.listed, NEW.organisation_id, NEW.trl, NEW.cpv_codes, NEW.places, NEW.facets))
    EXECUTE FUNCTION offer_categories_refresh();

INSERT INTO offer_categories SELECT * FROM offer_category_rows;
