DROP INDEX one_time_tokens_invitations;
ALTER TABLE one_time_tokens DROP CONSTRAINT one_time_tokens_created_by_fkey;
ALTER TABLE one_time_tokens ADD CONSTRAINT one_time_tokens_created_by_fkey
    FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE one_time_tokens DROP COLUMN id;
