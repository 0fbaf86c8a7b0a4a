-- Which of the photo ids $2 belong to clue $1.
SELECT id FROM onemap.clue_photos WHERE clue = $1 AND id = ANY($2::bigint[])
