-- Notifications: each user chooses which categories of e-mail they get
-- (security and account mails are always sent), and every optional mail
-- carries a one-click unsubscribe link (List-Unsubscribe, RFC 8058).

-- The secret of a user's unsubscribe links: it only turns mails off, and
-- dies with the user.
ALTER TABLE users ADD COLUMN mail_token text NOT NULL UNIQUE
    DEFAULT replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');

-- A row is a category of mail the user turned off.
CREATE TABLE notification_optouts (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category  text NOT NULL CHECK (category ~ '^[a-z_]{1,40}$'),
    at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, category)
);

-- Where a mail's List-Unsubscribe header points; empty for essential mails.
ALTER TABLE emails ADD COLUMN unsubscribe_url text NOT NULL DEFAULT '';
