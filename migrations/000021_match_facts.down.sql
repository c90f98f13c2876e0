-- Back to codes with a "values" object; the facts the old catalogue had
-- no message for (advice-bearing values, the local count) are dropped.
UPDATE request_matches m SET reasons = coalesce((
    SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
        'code', CASE e->>'code' WHEN 'worked_for_buyer' THEN 'worked_for_you' WHEN 'similar_for_buyer' THEN 'similar_for_you' ELSE e->>'code' END,
        'values', nullif(jsonb_strip_nulls(jsonb_build_object(
            'Count', (e->>'count')::int, 'Level', e->>'level', 'Prefix', e->>'prefix',
            'Year', CASE WHEN e->>'code' = 'past_contracts' THEN coalesce(e->>'year', '') END,
            'Title', e->>'title', 'Departement', e->>'departement')), '{}'::jsonb))) ORDER BY i)
    FROM jsonb_array_elements(m.reasons) WITH ORDINALITY AS x(e, i)
    WHERE e->>'code' NOT IN ('activity', 'no_trl', 'based_region')), '[]')
WHERE jsonb_typeof(m.reasons) = 'array' AND jsonb_array_length(m.reasons) > 0;
