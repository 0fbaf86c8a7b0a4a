-- Serialises precomputes of one land-use layer ('trnd', layer key), until the transaction ends.
SELECT pg_advisory_xact_lock(1953656420, $1::int)
