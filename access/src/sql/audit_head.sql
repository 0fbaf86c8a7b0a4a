-- Under the audit advisory lock: the chain head, the next sequence number, the entry's time in
-- its canonical text form, and the details in jsonb's canonical text form (what will be read
-- back when verifying).
SELECT (SELECT hash FROM onemap.audit ORDER BY seq DESC LIMIT 1) AS prev_hash,
       (SELECT coalesce(max(seq), 0) + 1 FROM onemap.audit) AS seq,
       to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at,
       $1::jsonb::text AS details
