-- The national registers as INSEE and data.gouv.fr publish them, replaced
-- whole by each import (`passerelle import sirene|decp`, the daily jobs):
-- a run copies its file into a temporary table and merges it in one
-- transaction, so readers see the previous register or the new one, never
-- half of it. `digest` is a hash of the row's imported fields: a re-import
-- rewrites only the rows whose digest changed.

-- Legal units (StockUniteLegale). name is the denomination of a company
-- or, for an individual entrepreneur, the person's name as INSEE
-- publishes it; diffusion 'P' (partially diffusible) rows hold only what
-- INSEE publishes for them ("[ND]" fields are stored empty).
CREATE TABLE sirene_units (
    siren           char(9) PRIMARY KEY,
    diffusion       char(1) NOT NULL,            -- O: diffusible, P: partially
    individual      boolean NOT NULL,            -- an entrepreneur individuel: name is a person's
    name            text NOT NULL DEFAULT '',
    category        text NOT NULL DEFAULT '',    -- INSEE's PME / ETI / GE, '' when not computed
    category_year   smallint,
    headcount_band  text NOT NULL DEFAULT '',
    naf_code        text NOT NULL DEFAULT '',
    legal_form      text NOT NULL DEFAULT '',    -- categorieJuridiqueUniteLegale
    active          boolean NOT NULL,            -- etatAdministratif A (C: ceased)
    head_nic        text NOT NULL DEFAULT '',
    digest          bigint NOT NULL
);

-- Establishments (StockEtablissement).
CREATE TABLE sirene_establishments (
    siret           char(14) PRIMARY KEY,
    siren           char(9) NOT NULL,
    diffusion       char(1) NOT NULL,
    head            boolean NOT NULL,
    naf_code        text NOT NULL DEFAULT '',
    headcount_band  text NOT NULL DEFAULT '',
    address         text NOT NULL DEFAULT '',    -- number, street type and name
    postcode        text NOT NULL DEFAULT '',
    commune_code    text NOT NULL DEFAULT '',
    city            text NOT NULL DEFAULT '',
    departement     text NOT NULL DEFAULT '',    -- derived from the commune code
    active          boolean NOT NULL,
    digest          bigint NOT NULL
);
CREATE INDEX sirene_establishments_siren ON sirene_establishments (siren);

-- Contracts of the DECP, one per (buyer, id): the record with the latest
-- datePublicationDonnees (then the last in the file) when a pair is
-- published more than once. Texts are kept as published, broken accents
-- (U+FFFD) included.
CREATE TABLE decp_contracts (
    buyer_id        text NOT NULL,               -- acheteur.id (a SIRET) or autoriteConcedante.id
    id              text NOT NULL,
    buyer_name      text NOT NULL DEFAULT '',
    kind            text NOT NULL DEFAULT '',    -- marché / concession
    nature          text NOT NULL DEFAULT '',
    object          text NOT NULL DEFAULT '',
    cpv_code        text NOT NULL DEFAULT '',    -- 8 digits, check digit dropped; '' when not a code
    cpv_raw         text NOT NULL DEFAULT '',
    procedure       text NOT NULL DEFAULT '',
    place_code      text NOT NULL DEFAULT '',
    place_type      text NOT NULL DEFAULT '',
    place_name      text NOT NULL DEFAULT '',
    departement     text NOT NULL DEFAULT '',    -- derived from the place when it names one
    duration_months int,
    notified_on     date,
    published_on    date,
    amount_eur      numeric,
    price_form      text NOT NULL DEFAULT '',
    schema          smallint NOT NULL,           -- 2019 or 2024
    damaged         boolean NOT NULL DEFAULT false, -- holds U+FFFD
    modifications   smallint NOT NULL DEFAULT 0,  -- modifications published with it (not applied)
    digest          bigint NOT NULL,
    PRIMARY KEY (buyer_id, id)
);
CREATE INDEX decp_contracts_buyer ON decp_contracts (left(buyer_id, 9));

-- Each contract's suppliers, in the published order.
CREATE TABLE decp_winners (
    buyer_id        text NOT NULL,
    id              text NOT NULL,
    rank            smallint NOT NULL,
    id_type         text NOT NULL DEFAULT '',    -- SIRET, TVA, HORS-UE…
    winner_id       text NOT NULL DEFAULT '',
    siren           text NOT NULL DEFAULT '',    -- first 9 digits of a SIRET, '' otherwise
    name            text NOT NULL DEFAULT '',
    PRIMARY KEY (buyer_id, id, rank),
    FOREIGN KEY (buyer_id, id) REFERENCES decp_contracts ON DELETE CASCADE
);
CREATE INDEX decp_winners_siren ON decp_winners (siren) WHERE siren <> '';

-- Every import run and its report (what the staff page and /metrics show).
CREATE TABLE register_imports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    register    text NOT NULL CHECK (register IN ('sirene', 'decp')),
    source      text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    ok          boolean,
    report      jsonb,
    error       text NOT NULL DEFAULT ''
);
CREATE INDEX register_imports_latest ON register_imports (register, id DESC);


-- Contracts proposed to an SME from the DECP and what it answered: a
-- proposal is made once; none becomes a reference without its consent.
CREATE TABLE contract_proposals (
    organisation_id bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    buyer_id        text NOT NULL,
    id              text NOT NULL,
    proposed_at     timestamptz NOT NULL DEFAULT now(),
    dismissed_at    timestamptz,
    PRIMARY KEY (organisation_id, buyer_id, id)
);

-- The observatory of public buyers: for each buyer (SIREN), year of
-- notification and département of execution, the contracts and amounts
-- that went to suppliers of each INSEE category (PME, ETI, GE, or '' when
-- the supplier is not in SIRENE or has no category). A contract with
-- several suppliers counts a share to each. Recomputed in the
-- transaction of every import, so it always matches the registers.
CREATE TABLE public_buyer_shares (
    buyer_siren char(9) NOT NULL,
    year        smallint NOT NULL,
    departement text NOT NULL,
    category    text NOT NULL,
    contracts   float8 NOT NULL,
    amount_eur  float8 NOT NULL
);
CREATE INDEX public_buyer_shares_buyer ON public_buyer_shares (buyer_siren, year);
CREATE INDEX public_buyer_shares_year ON public_buyer_shares (year, departement);

CREATE TABLE public_buyers (
    siren       char(9) PRIMARY KEY,
    name        text NOT NULL,
    contracts   int NOT NULL
);
CREATE INDEX public_buyers_name ON public_buyers USING gin (name gin_trgm_ops);
