-- Summaries of the registers that pages and the matcher read, recomputed
-- in each import's transaction (see internal/registers): at national size
-- the observatory's national view and the matcher's trade affinity would
-- otherwise aggregate millions of rows per read (measured: 0.4 s and 5 s).

-- The observatory by year and place (national and région views).
CREATE TABLE public_shares_by_place (
    year        smallint NOT NULL,
    departement text NOT NULL,
    category    text NOT NULL,
    contracts   float8 NOT NULL,
    amount_eur  float8 NOT NULL
);
CREATE INDEX public_shares_by_place_year ON public_shares_by_place (year);

-- Each buyer's year in one row (the national list of buyers, most
-- contracts first, read from an index).
CREATE TABLE public_buyer_years (
    buyer_siren char(9) NOT NULL,
    year        smallint NOT NULL,
    contracts   float8 NOT NULL,
    split       jsonb NOT NULL,   -- {"PME": [contracts, amount], …}
    PRIMARY KEY (buyer_siren, year)
);
CREATE INDEX public_buyer_years_top ON public_buyer_years (year, contracts DESC, buyer_siren);

-- How many contracts of each CPV group companies of each activity (NAF,
-- from SIRENE) won, over the whole DECP register.
CREATE TABLE decp_affinity (
    naf_code    text NOT NULL,
    cpv_group   text NOT NULL,
    contracts   int NOT NULL,
    PRIMARY KEY (naf_code, cpv_group)
);
