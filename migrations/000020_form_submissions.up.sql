-- One-time tokens of the forms that create a row: the first submission of
-- a token records what it created; a replay (a double click, a client that
-- retries after a lost answer, a server killed after the commit) gets that
-- result instead of a second row. Pruned after a week.
CREATE TABLE form_submissions (
    token       text PRIMARY KEY CHECK (length(token) BETWEEN 16 AND 64),
    kind        text NOT NULL,
    result_id   bigint,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX form_submissions_created ON form_submissions (created_at);
