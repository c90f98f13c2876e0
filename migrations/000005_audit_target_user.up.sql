-- The user an audit entry is about, when it is about a user (a password
-- reset, an accepted invitation): erasing that user blanks exactly their
-- entries' labels, not those of another person with the same name.
ALTER TABLE audit_entries ADD COLUMN target_user_id bigint REFERENCES users (id) ON DELETE SET NULL;
UPDATE audit_entries SET target_user_id = actor_id
 WHERE action IN ('password.reset', 'invitation.accepted') AND actor_id IS NOT NULL;
CREATE INDEX audit_entries_target_user ON audit_entries (target_user_id) WHERE target_user_id IS NOT NULL;
