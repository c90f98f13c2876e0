-- Invitations can be listed and revoked by id, and die with the account of
-- whoever sent them.
ALTER TABLE one_time_tokens ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY UNIQUE;
ALTER TABLE one_time_tokens DROP CONSTRAINT one_time_tokens_created_by_fkey;
ALTER TABLE one_time_tokens ADD CONSTRAINT one_time_tokens_created_by_fkey
    FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX one_time_tokens_invitations ON one_time_tokens (organisation_id) WHERE purpose = 'invitation' AND used_at IS NULL;
