-- Members: organisations, their users, sessions, one-time tokens,
-- invitations, the e-mail outbox and the audit log.

CREATE TYPE organisation_kind AS ENUM ('pme', 'eti', 'ge', 'public', 'association');
CREATE TYPE membership_status AS ENUM ('applied', 'member', 'suspended', 'rejected', 'left');
CREATE TYPE user_role AS ENUM ('owner', 'member', 'staff', 'admin');

CREATE TABLE organisations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    siren           text NOT NULL CHECK (siren ~ '^[0-9]{9}$'),
    legal_name      text NOT NULL CHECK (length(legal_name) BETWEEN 1 AND 200),
    kind            organisation_kind NOT NULL,
    naf_code        text NOT NULL,
    headcount_band  text NOT NULL,
    departement     text NOT NULL,
    website         text NOT NULL DEFAULT '',
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    status          membership_status NOT NULL DEFAULT 'applied',
    status_reason   text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_at      timestamptz
);
-- One live membership per SIREN; a rejected applicant or a company that left may apply again.
CREATE UNIQUE INDEX organisations_siren_live ON organisations (siren) WHERE status NOT IN ('rejected', 'left');
CREATE INDEX organisations_queue ON organisations (created_at) WHERE status = 'applied';

CREATE TABLE users (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    email            text NOT NULL CHECK (email = lower(email) AND length(email) <= 254),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    password_hash    text NOT NULL,
    role             user_role NOT NULL,
    locale           text NOT NULL DEFAULT 'fr' CHECK (locale IN ('fr', 'en')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_sign_in_at  timestamptz
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_organisation ON users (organisation_id);

-- Server-side sessions (alexedwards/scs pgxstore).
CREATE TABLE sessions (
    token  text PRIMARY KEY,
    data   bytea NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);

-- Single-use secrets sent by e-mail; only their SHA-256 is stored.
CREATE TABLE one_time_tokens (
    hash             bytea PRIMARY KEY,
    purpose          text NOT NULL CHECK (purpose IN ('password_reset', 'invitation')),
    user_id          bigint REFERENCES users (id) ON DELETE CASCADE,
    organisation_id  bigint REFERENCES organisations (id) ON DELETE CASCADE,
    email            text NOT NULL,
    role             user_role,  -- for invitations: the role the new user gets
    created_by       bigint REFERENCES users (id) ON DELETE SET NULL,
    expires_at       timestamptz NOT NULL,
    used_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX one_time_tokens_user ON one_time_tokens (user_id);

-- Every notification goes through this outbox; a River job delivers it.
CREATE TABLE emails (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    to_addr     text NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    kind        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    attempts    int NOT NULL DEFAULT 0,
    last_error  text NOT NULL DEFAULT ''
);
CREATE INDEX emails_created ON emails (created_at DESC);

-- Who did what, when and why. Kept when the people concerned are deleted:
-- actor_label and details hold no personal data of deleted users.
CREATE TABLE audit_entries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at               timestamptz NOT NULL DEFAULT now(),
    actor_id         bigint REFERENCES users (id) ON DELETE SET NULL,
    actor_label      text NOT NULL,
    action           text NOT NULL,
    organisation_id  bigint REFERENCES organisations (id) ON DELETE SET NULL,
    target_label     text NOT NULL DEFAULT '',
    reason           text NOT NULL DEFAULT ''
);
CREATE INDEX audit_entries_at ON audit_entries (at DESC);
CREATE INDEX audit_entries_action ON audit_entries (action, at DESC);
CREATE INDEX audit_entries_organisation ON audit_entries (organisation_id, at DESC);
