-- Sessions live in the session store by token, not by user: to end every
-- session of a user (password reset or change, "sign out everywhere"),
-- each session records the user's epoch at sign-in, and a session whose
-- epoch is behind the user's is ended at its next request.
ALTER TABLE users ADD COLUMN session_epoch integer NOT NULL DEFAULT 0;
