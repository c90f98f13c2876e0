-- Staff's platform figures (/equipe/indicateurs) read monthly roll-ups
-- instead of counting 10 M matches on each visit. platform_months holds one
-- row per month: the matches suggested that month and how far they went
-- (a cohort), the requests published and answered with the median time to
-- the first answer, the answers given and those replied to. Triggers list
-- the months a write changes in platform_changes (append-only: writers
-- never wait on each other); the job indicator.rollup recomputes those
-- months with the same queries the page ran before, and the page reads the
-- table alone. A late event on an old match lists the old match's month.
CREATE TABLE platform_months (
    month                 date PRIMARY KEY,
    suggested             integer NOT NULL DEFAULT 0,
    viewed                integer NOT NULL DEFAULT 0,
    interested            integer NOT NULL DEFAULT 0,
    shortlisted           integer NOT NULL DEFAULT 0,
    won                   integer NOT NULL DEFAULT 0,
    published             integer NOT NULL DEFAULT 0,
    answered              integer NOT NULL DEFAULT 0,
    first_answer_seconds  double precision,
    answers               integer NOT NULL DEFAULT 0,
    replied               integer NOT NULL DEFAULT 0,
    -- seconds from application to decision of the month's decisions,
    -- sorted: twelve months' median is exact (a median does not add up)
    decision_seconds      double precision[] NOT NULL DEFAULT '{}',
    computed_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE platform_changes (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    month  date NOT NULL
);

CREATE FUNCTION month_of(t timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT date_trunc('month', t AT TIME ZONE 'UTC')::date $$;

-- A match counts in its creation month's cohort.
CREATE FUNCTION platform_matches_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO platform_changes (month) SELECT DISTINCT month_of(n.created_at) FROM new_rows n WHERE n.matched;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO platform_changes (month) SELECT DISTINCT month_of(o.created_at) FROM old_rows o WHERE o.matched;
    ELSE
        INSERT INTO platform_changes (month)
        SELECT DISTINCT month_of(x.created_at) FROM (
            SELECT n.created_at FROM new_rows n JOIN old_rows o USING (request_id, organisation_id)
            WHERE n.matched IS DISTINCT FROM o.matched OR n.state IS DISTINCT FROM o.state
               OR n.viewed_at IS DISTINCT FROM o.viewed_at OR n.created_at IS DISTINCT FROM o.created_at
            UNION ALL
            SELECT o.created_at FROM new_rows n JOIN old_rows o USING (request_id, organisation_id)
            WHERE n.created_at IS DISTINCT FROM o.created_at) x;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER request_matches_platform_insert AFTER INSERT ON request_matches
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION platform_matches_changed();
CREATE TRIGGER request_matches_platform_update AFTER UPDATE ON request_matches
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION platform_matches_changed();
CREATE TRIGGER request_matches_platform_delete AFTER DELETE ON request_matches
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION platform_matches_changed();

-- An SME's step: its match's cohort; an interest, its own month (answers)
-- and its request's month (answered, time to first answer); a reply, the
-- months of the interests it replies to.
CREATE FUNCTION platform_events_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO platform_changes (month)
    SELECT DISTINCT m FROM (
        SELECT month_of(x.created_at) AS m FROM new_rows e
            JOIN request_matches x ON x.request_id = e.request_id AND x.organisation_id = e.organisation_id
            WHERE e.kind IN ('interested', 'shortlisted')
        UNION ALL SELECT month_of(e.at) FROM new_rows e WHERE e.kind = 'interested'
        UNION ALL SELECT month_of(r.published_at) FROM new_rows e JOIN purchase_requests r ON r.id = e.request_id
            WHERE e.kind = 'interested' AND r.published_at IS NOT NULL
        UNION ALL SELECT month_of(i.at) FROM new_rows e
            JOIN request_events i ON i.request_id = e.request_id AND i.organisation_id = e.organisation_id
                AND i.kind = 'interested' AND i.at <= e.at
            WHERE e.kind IN ('shortlisted', 'discussion', 'declined', 'won', 'lost')) x;
    RETURN NULL;
END $$;
CREATE TRIGGER request_events_platform AFTER INSERT ON request_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION platform_events_changed();

CREATE FUNCTION platform_requests_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO platform_changes (month) SELECT DISTINCT month_of(n.published_at) FROM new_rows n WHERE n.published_at IS NOT NULL;
    ELSE
        INSERT INTO platform_changes (month)
        SELECT DISTINCT m FROM (
            SELECT month_of(n.published_at) AS m FROM new_rows n JOIN old_rows o USING (id)
                WHERE n.published_at IS DISTINCT FROM o.published_at AND n.published_at IS NOT NULL
            UNION ALL SELECT month_of(o.published_at) FROM new_rows n JOIN old_rows o USING (id)
                WHERE n.published_at IS DISTINCT FROM o.published_at AND o.published_at IS NOT NULL) x;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER purchase_requests_platform_insert AFTER INSERT ON purchase_requests
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION platform_requests_changed();
CREATE TRIGGER purchase_requests_platform_update AFTER UPDATE ON purchase_requests
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION platform_requests_changed();

-- Membership decisions: the month of the decision, old and new.
CREATE FUNCTION platform_decisions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO platform_changes (month) SELECT DISTINCT month_of(n.decided_at) FROM new_rows n WHERE n.decided_at IS NOT NULL;
    ELSE
        INSERT INTO platform_changes (month)
        SELECT DISTINCT m FROM (
            SELECT month_of(n.decided_at) AS m FROM new_rows n JOIN old_rows o USING (id)
                WHERE n.decided_at IS NOT NULL AND (n.decided_at IS DISTINCT FROM o.decided_at OR n.created_at IS DISTINCT FROM o.created_at
                    OR (n.status = 'applied') IS DISTINCT FROM (o.status = 'applied'))
            UNION ALL SELECT month_of(o.decided_at) FROM new_rows n JOIN old_rows o USING (id)
                WHERE o.decided_at IS NOT NULL AND (n.decided_at IS DISTINCT FROM o.decided_at OR n.created_at IS DISTINCT FROM o.created_at
                    OR (n.status = 'applied') IS DISTINCT FROM (o.status = 'applied'))) x;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER organisations_platform_insert AFTER INSERT ON organisations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION platform_decisions_changed();
CREATE TRIGGER organisations_platform_update AFTER UPDATE ON organisations
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION platform_decisions_changed();

-- What exists already is computed by the job's first run.
INSERT INTO platform_changes (month)
SELECT DISTINCT m FROM (
    SELECT month_of(created_at) AS m FROM request_matches WHERE matched
    UNION SELECT month_of(published_at) FROM purchase_requests WHERE published_at IS NOT NULL
    UNION SELECT month_of(at) FROM request_events WHERE kind = 'interested'
    UNION SELECT month_of(decided_at) FROM organisations WHERE decided_at IS NOT NULL) x;
