-- Synthetic load for the platform figures (/equipe/indicateurs): 21,000 organisations,
-- 100,000 requests over 24 months, 100 matches each (10 M), 700,000 SME events.
-- createdb figscale; DATABASE_URL=.../figscale passerelle migrate; psql -f seed.sql figscale  (~2.5 min)
SET synchronous_commit = off;
INSERT INTO organisations (siren, legal_name, kind, naf_code, headcount_band, departement, status, created_at, decided_at)
SELECT lpad(g::text, 9, '0'), 'Org ' || g, CASE WHEN g <= 1000 THEN 'public' ELSE 'pme' END::organisation_kind, '62.01Z', '11', '69', 'member',
       now() - interval '3 years', now() - interval '3 years' + interval '2 days'
FROM generate_series(1, 21000) g;
-- 100k requests over the last 24 months
INSERT INTO purchase_requests (organisation_id, title, description, cpv_codes, budget_band, deadline, places, status, published_at, created_at)
SELECT (SELECT min(id) FROM organisations) + (g % 1000), 'Demande ' || g, 'Besoin', '{72000000}', 'lt40k', current_date + 30, '{dep:69}', 'open',
       now() - (g % 730) * interval '1 day', now() - (g % 730) * interval '1 day'
FROM generate_series(1, 100000) g;
-- 100 matches per request
INSERT INTO request_matches (request_id, organisation_id, matched, state, created_at, viewed_at)
SELECT r.id, o0.m + 1000 + ((r.id * 37 + k * 101) % 20000), true, 'suggested', r.published_at,
       CASE WHEN k % 4 = 0 THEN r.published_at + interval '1 day' END
FROM purchase_requests r, generate_series(0, 99) k, (SELECT min(id) AS m FROM organisations) o0;
-- 5 interested per request, 2 of them shortlisted later
INSERT INTO request_events (request_id, organisation_id, kind, at)
SELECT x.request_id, x.organisation_id, 'interested', x.created_at + interval '2 days'
FROM request_matches x WHERE (x.organisation_id + x.request_id) % 20 = 0;
INSERT INTO request_events (request_id, organisation_id, kind, at)
SELECT x.request_id, x.organisation_id, 'shortlisted', x.created_at + interval '5 days'
FROM request_matches x WHERE (x.organisation_id + x.request_id) % 50 = 0;
ANALYZE;
