-- A photo of clue $1: $2 SHA-256, $3 media type, $4 size, $5 caption, $6 uploader, $7 audit seq.
-- The same picture on the same clue again: the photo already recorded.
WITH ins AS (
    INSERT INTO onemap.clue_photos (clue, sha256, media_type, bytes, caption, uploaded_by, audit_seq)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (clue, sha256) DO NOTHING
    RETURNING *
)
SELECT id, clue, sha256, media_type, bytes, caption, uploaded_by,
       to_char(uploaded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS uploaded_at
FROM (SELECT * FROM ins
      UNION ALL
      SELECT * FROM onemap.clue_photos WHERE clue = $1 AND sha256 = $2) p
LIMIT 1
