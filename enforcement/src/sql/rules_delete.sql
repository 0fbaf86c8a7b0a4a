-- $1 from pattern, $2 to pattern.
DELETE FROM onemap.transition_rules WHERE from_class = $1 AND to_class = $2
