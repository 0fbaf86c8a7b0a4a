-- Serialises the generalisation of version $1 across servers, until the transaction ends.
SELECT pg_advisory_xact_lock(hashtext('onemap.generalise'), ($1::bigint % 2147483647)::int)
