-- The photos of clue $1 (only photo $2 unless NULL), oldest first.
SELECT id, clue, sha256, media_type, bytes, caption, uploaded_by,
       to_char(uploaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS uploaded_at
FROM onemap.clue_photos
WHERE clue = $1 AND ($2::bigint IS NULL OR id = $2)
ORDER BY id
