-- Yearly progress plans (plans de progrès): each member large account
-- commits to targets for a year, measured against its declarations, the
-- DECP register, the platform's own figures and the barometer; at year
-- end it assesses itself; staff and a committee of member SMEs comment.
CREATE TABLE progress_plans (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    year             smallint NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    status           text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'assessed', 'commented', 'closed')),
    public           boolean NOT NULL DEFAULT false,  -- shown to anyone once published
    referent         text NOT NULL DEFAULT '' CHECK (length(referent) <= 200),  -- the named SME referent
    self_assessment  text NOT NULL DEFAULT '' CHECK (length(self_assessment) <= 5000),
    version          int NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    published_at     timestamptz,
    assessed_at      timestamptz,
    closed_at        timestamptz,
    UNIQUE (organisation_id, year)
);

-- A plan's commitments: one per indicator at most, with its target.
CREATE TABLE plan_commitments (
    plan_id          bigint NOT NULL REFERENCES progress_plans (id) ON DELETE CASCADE,
    indicator        text NOT NULL CHECK (indicator IN ('pme_share', 'eti_share', 'payment_days', 'on_time',
                         'requests', 'sme_contracts', 'barometer', 'referent')),
    target           numeric(12, 2) NOT NULL CHECK (target >= 0),
    PRIMARY KEY (plan_id, indicator)
);

-- Every version of a plan as it was written, for the record.
CREATE TABLE plan_versions (
    plan_id          bigint NOT NULL REFERENCES progress_plans (id) ON DELETE CASCADE,
    version          int NOT NULL,
    content          jsonb NOT NULL,
    author_id        bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, version)
);

-- The member SMEs staff invite to comment the year's plans.
CREATE TABLE plan_committee (
    year             smallint NOT NULL,
    organisation_id  bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    invited_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (year, organisation_id)
);

-- Comments on a plan's self-assessment: staff's signed, the committee's
-- SMEs' anonymous to every reader (the author is kept for moderation).
CREATE TABLE plan_comments (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plan_id          bigint NOT NULL REFERENCES progress_plans (id) ON DELETE CASCADE,
    author_id        bigint REFERENCES users (id) ON DELETE SET NULL,
    author_name      text NOT NULL DEFAULT '',
    staff            boolean NOT NULL,
    body             text NOT NULL CHECK (length(body) BETWEEN 1 AND 3000),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX plan_comments_plan ON plan_comments (plan_id, id);
