SELECT from_class, to_class, trend, prohibited_in, note
FROM onemap.transition_rule_defaults
ORDER BY id
