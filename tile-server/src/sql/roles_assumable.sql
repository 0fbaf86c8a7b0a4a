-- How many of the roles $1 and $2 exist and may be assumed by the login role (2 = both).
SELECT count(*) FROM pg_roles
WHERE rolname IN ($1::text, $2::text) AND pg_has_role(current_user, oid, 'MEMBER')
