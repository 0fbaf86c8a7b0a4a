-- Which of the codes $1 are no department.
SELECT x FROM unnest($1::text[]) AS x
WHERE NOT EXISTS (SELECT 1 FROM onemap.departments d WHERE d.code = x)
