ALTER TABLE audit_entries DROP COLUMN target_user_id;
