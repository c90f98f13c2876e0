-- Indicators: the large accounts' yearly purchasing declarations (every
-- version kept), staff imports of declarations from CSV (checked before
-- anything is written, progress visible), the yearly barometer where SMEs
-- rate the large accounts they work with, views of offers (for each SME's
-- own figures) and the buyers' answer to "without Passerelle, would you
-- have consulted these SMEs?".

-- Every version of every declaration: a correction adds a version, the
-- latest counts (current_declarations), the history stays.
CREATE TABLE declarations (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    year             smallint NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    version          int NOT NULL CHECK (version >= 1),
    total_purchases  bigint NOT NULL CHECK (total_purchases > 0),  -- € HT
    pme_purchases    bigint NOT NULL CHECK (pme_purchases >= 0),
    eti_purchases    bigint NOT NULL CHECK (eti_purchases >= 0),
    payment_days     numeric(5, 1) NOT NULL CHECK (payment_days BETWEEN 0 AND 999),  -- average payment time
    on_time_share    numeric(5, 2) NOT NULL CHECK (on_time_share BETWEEN 0 AND 100),  -- % of invoices paid on time
    source           text NOT NULL CHECK (source IN ('form', 'import', 'demo')),
    import_id        bigint,
    author_id        bigint REFERENCES users (id) ON DELETE SET NULL,
    author_name      text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (pme_purchases + eti_purchases <= total_purchases),
    UNIQUE (organisation_id, year, version)
);

CREATE VIEW current_declarations AS
    SELECT DISTINCT ON (organisation_id, year) *
    FROM declarations
    ORDER BY organisation_id, year, version DESC;

-- A CSV file of declarations uploaded by staff: checked by a job (line
-- errors, preview), then imported in one transaction by another once staff
-- confirm. The content is dropped once imported.
CREATE TABLE declaration_imports (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id        bigint REFERENCES users (id) ON DELETE SET NULL,
    author_name      text NOT NULL DEFAULT '',
    file_name        text NOT NULL DEFAULT '',
    size             bigint NOT NULL,
    content          bytea,
    status           text NOT NULL DEFAULT 'checking' CHECK (status IN ('checking', 'checked', 'importing', 'imported', 'failed')),
    total_lines      int NOT NULL DEFAULT 0,
    done_lines       int NOT NULL DEFAULT 0,
    valid_lines      int NOT NULL DEFAULT 0,
    error_count      int NOT NULL DEFAULT 0,
    errors           jsonb NOT NULL DEFAULT '[]',   -- the first line errors
    preview          jsonb NOT NULL DEFAULT '[]',   -- the first valid lines, new or correcting
    failure          text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- One barometer campaign a year, opened and closed by staff.
CREATE TABLE barometer_campaigns (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    year             smallint NOT NULL UNIQUE CHECK (year BETWEEN 2000 AND 2100),
    opened_at        timestamptz NOT NULL DEFAULT now(),
    opened_by        bigint REFERENCES users (id) ON DELETE SET NULL,
    closed_at        timestamptz
);
CREATE UNIQUE INDEX barometer_campaigns_one_open ON barometer_campaigns ((true)) WHERE closed_at IS NULL;

-- An SME's rating of one large account in one campaign: one row, which
-- the SME may change while the campaign is open. Shown only in aggregate.
CREATE TABLE barometer_answers (
    campaign_id      bigint NOT NULL REFERENCES barometer_campaigns (id) ON DELETE CASCADE,
    account_id       bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    sme_id           bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    relationship     smallint NOT NULL CHECK (relationship BETWEEN 0 AND 10),
    payment          smallint NOT NULL CHECK (payment BETWEEN 0 AND 10),
    clarity          smallint NOT NULL CHECK (clarity BETWEEN 0 AND 10),
    innovation       smallint NOT NULL CHECK (innovation BETWEEN 0 AND 10),
    comment          text NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
    user_id          bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, account_id, sme_id),
    CHECK (account_id <> sme_id)
);
CREATE INDEX barometer_answers_sme ON barometer_answers (sme_id, campaign_id);
-- A buyer's marks on every request page an SME opens.
CREATE INDEX barometer_answers_account ON barometer_answers (account_id, campaign_id);

-- Views of published offers by other organisations, one counter per offer and day.
CREATE TABLE offer_views (
    offer_id         bigint NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    day              date NOT NULL,
    views            int NOT NULL DEFAULT 0,
    PRIMARY KEY (offer_id, day)
);

-- The buyer's answer, with "awarded through Passerelle", to "without
-- Passerelle, would you have consulted these SMEs?".
ALTER TABLE purchase_requests ADD COLUMN counterfactual text
    CHECK (counterfactual IN ('yes', 'no', 'unsure'));

-- The won contracts by year, for the platform's contribution.
CREATE INDEX request_matches_won ON request_matches (contract_date) WHERE state = 'won';

-- An SME's own figures on its home page (its answers, the replies).
CREATE INDEX request_events_organisation ON request_events (organisation_id, kind) WHERE organisation_id IS NOT NULL;

-- The member SMEs told that a campaign opened: each once, whichever
-- server's job sends the batch.
CREATE TABLE barometer_invited (
    campaign_id      bigint NOT NULL REFERENCES barometer_campaigns (id) ON DELETE CASCADE,
    organisation_id  bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    PRIMARY KEY (campaign_id, organisation_id)
);
