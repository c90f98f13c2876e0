-- A match's reasons become typed facts ("count", "local", "level"…), each
-- rendered in its reader's voice. Stored reasons are converted where the
-- old values say the same thing; those that do not (the local count,
-- taken at another level than its line; the activity, now at the group
-- level; the TRL and region, now naming what they speak of) are dropped,
-- and the SMEs' matches queued for recomputing, which brings them back.
UPDATE request_matches m SET reasons = coalesce((
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
        'code', CASE e->>'code' WHEN 'worked_for_you' THEN 'worked_for_buyer' WHEN 'similar_for_you' THEN 'similar_for_buyer' ELSE e->>'code' END,
        'count', (e->'values'->>'Count')::int,
        'level', e->'values'->>'Level',
        'prefix', e->'values'->>'Prefix',
        'year', nullif(e->'values'->>'Year', '')::int,
        'title', e->'values'->>'Title',
        'departement', e->'values'->>'Departement')) ORDER BY i)
    FROM jsonb_array_elements(m.reasons) WITH ORDINALITY AS x(e, i)
    WHERE e->>'code' NOT IN ('past_local', 'activity', 'no_trl', 'based_region')), '[]')
WHERE jsonb_typeof(m.reasons) = 'array' AND jsonb_array_length(m.reasons) > 0;

INSERT INTO match_changes (organisation_id)
    SELECT DISTINCT organisation_id FROM request_matches WHERE matched;
