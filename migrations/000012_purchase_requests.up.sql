-- Purchase requests from large accounts and the engagement loop around
-- them: which SMEs fit a request (request_matches, one row per request and
-- SME, carrying the lifecycle both sides see), the SMEs' answers and the
-- buyers' replies, conversations, every event with its time (for the
-- indicators), saved searches and their daily digests, and the key that
-- signs one-click links in mails.

CREATE TYPE request_status AS ENUM ('draft', 'submitted', 'open', 'closed', 'rejected');

CREATE TABLE purchase_requests (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    author_id        bigint REFERENCES users (id) ON DELETE SET NULL,
    title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 150),
    description      text NOT NULL CHECK (length(description) BETWEEN 1 AND 5000),
    cpv_codes        text[] NOT NULL CHECK (cardinality(cpv_codes) BETWEEN 1 AND 10),
    cpv_text         text NOT NULL DEFAULT '',  -- French labels of cpv_codes, for search
    budget_band      text NOT NULL CHECK (budget_band IN ('lt40k', '40k_100k', '100k_500k', '500k_2m', 'gt2m')),
    deadline         date NOT NULL,
    places           text[] NOT NULL CHECK (cardinality(places) >= 1),
    innovative       boolean NOT NULL DEFAULT false,  -- may use the "achat innovant" route
    visibility       text NOT NULL DEFAULT 'all' CHECK (visibility IN ('all', 'matched')),
    questions        text[] NOT NULL DEFAULT '{}' CHECK (cardinality(questions) <= 5),
    anonymous        boolean NOT NULL DEFAULT false,  -- the buyer's name hidden until it accepts an SME
    status           request_status NOT NULL DEFAULT 'draft',
    status_reason    text NOT NULL DEFAULT '',
    outcome          text CHECK (outcome IN ('awarded', 'not_awarded', 'cancelled')),
    -- the buyer's answer to "what happened?", asked seven days after the deadline
    follow_up        text CHECK (follow_up IN ('passerelle', 'other', 'not_yet', 'cancelled')),
    follow_up_asked_at timestamptz,
    facets           text[] NOT NULL DEFAULT '{}',  -- "cpv:722", "reg:84", "dep:69", "budget:lt40k"
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    submitted_at     timestamptz,
    published_at     timestamptz,
    closed_at        timestamptz,
    search           tsvector GENERATED ALWAYS AS (
        setweight(fr_tsvector(title), 'A') ||
        setweight(fr_tsvector(cpv_text), 'B') ||
        setweight(fr_tsvector(description), 'C')) STORED
);
CREATE INDEX purchase_requests_open ON purchase_requests USING gin (search, facets) WHERE status = 'open';
CREATE INDEX purchase_requests_organisation ON purchase_requests (organisation_id, updated_at DESC);
CREATE INDEX purchase_requests_waiting ON purchase_requests (submitted_at) WHERE status = 'submitted';
CREATE INDEX purchase_requests_deadline ON purchase_requests (deadline) WHERE status = 'open';

-- One row per request and SME that met: suggested by the matcher (matched),
-- or opened by an SME of a request visible to all.
CREATE TABLE request_matches (
    request_id       bigint NOT NULL REFERENCES purchase_requests (id) ON DELETE CASCADE,
    organisation_id  bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    matched          boolean NOT NULL DEFAULT false,
    state            text NOT NULL DEFAULT 'suggested' CHECK (state IN ('suggested', 'viewed', 'interested',
                         'not_interested', 'shortlisted', 'discussion', 'won', 'lost', 'declined')),
    message          text NOT NULL DEFAULT '' CHECK (length(message) <= 2000),
    answers          text[] NOT NULL DEFAULT '{}',
    offer_id         bigint REFERENCES offers (id) ON DELETE SET NULL,
    sme_reason       text NOT NULL DEFAULT '',  -- why not interested (a code of the list)
    sme_reason_text  text NOT NULL DEFAULT '' CHECK (length(sme_reason_text) <= 1000),
    buyer_reason     text NOT NULL DEFAULT '' CHECK (length(buyer_reason) <= 1000),
    contract_amount  bigint CHECK (contract_amount > 0),  -- € HT, when won
    contract_date    date,
    reminders        smallint NOT NULL DEFAULT 0,
    last_mailed_at   timestamptz,
    reported_at      timestamptz,  -- a member reported the conversation: staff may read it
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    viewed_at        timestamptz,
    answered_at      timestamptz,  -- interested or not
    PRIMARY KEY (request_id, organisation_id)
);
CREATE INDEX request_matches_organisation ON request_matches (organisation_id, updated_at DESC);

-- Every step of the loop with its time: what the indicators are computed from.
CREATE TABLE request_events (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id       bigint NOT NULL REFERENCES purchase_requests (id) ON DELETE CASCADE,
    organisation_id  bigint REFERENCES organisations (id) ON DELETE CASCADE,  -- the SME, when about one
    kind             text NOT NULL,
    user_id          bigint REFERENCES users (id) ON DELETE SET NULL,
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX request_events_request ON request_events (request_id, at);

CREATE TABLE request_messages (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id       bigint NOT NULL,
    organisation_id  bigint NOT NULL,  -- the SME of the conversation
    author_org_id    bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    author_id        bigint REFERENCES users (id) ON DELETE SET NULL,
    author_name      text NOT NULL DEFAULT '',
    body             text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (request_id, organisation_id) REFERENCES request_matches (request_id, organisation_id) ON DELETE CASCADE
);
CREATE INDEX request_messages_conversation ON request_messages (request_id, organisation_id, id);

-- Up to when each user has read each conversation.
CREATE TABLE conversation_reads (
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    request_id       bigint NOT NULL,
    organisation_id  bigint NOT NULL,
    read_until       bigint NOT NULL,  -- the last message id read
    PRIMARY KEY (user_id, request_id, organisation_id),
    FOREIGN KEY (request_id, organisation_id) REFERENCES request_matches (request_id, organisation_id) ON DELETE CASCADE
);

-- An SME user's saved searches of open requests, for the daily digest.
CREATE TABLE saved_searches (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    query            text NOT NULL DEFAULT '' CHECK (length(query) <= 200),
    facets           text[] NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    seen_until       timestamptz NOT NULL DEFAULT now()  -- requests published before were already told
);
CREATE INDEX saved_searches_user ON saved_searches (user_id);

-- At most one digest per user and day, whichever server sends it.
CREATE TABLE digests_sent (
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day              date NOT NULL,
    PRIMARY KEY (user_id, day)
);

-- The key that signs one-click links in mails, the same for every server.
-- gen_random_uuid draws from a strong random source: two give 244 random bits.
CREATE TABLE link_keys (
    name             text PRIMARY KEY,
    secret           bytea NOT NULL
);
INSERT INTO link_keys VALUES ('mail_links',
    decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'));
