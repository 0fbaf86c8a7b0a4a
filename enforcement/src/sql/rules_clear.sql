DELETE FROM onemap.transition_rules
