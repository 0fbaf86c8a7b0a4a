-- Stated parcel area (TBMJ) against the stored geodesic area: $2 is the tolerated relative
-- difference (0.01 = 1%). TBMJ may arrive as a JSON number or as numeric text.
WITH stated AS (
    SELECT area_m2,
           CASE WHEN jsonb_typeof(props->'TBMJ') = 'number' THEN (props->>'TBMJ')::float8
                WHEN props->>'TBMJ' ~ '^\s*[-+]?[0-9]+(\.[0-9]*)?\s*$' THEN (props->>'TBMJ')::float8
           END AS tbmj
    FROM onemap.features
    WHERE version_id = $1
)
SELECT count(*) AS parcels,
       count(*) FILTER (WHERE tbmj IS NULL) AS no_tbmj,
       count(*) FILTER (WHERE abs(tbmj - area_m2) > $2 * area_m2) AS mismatched
FROM stated
