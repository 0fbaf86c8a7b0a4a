SELECT code FROM onemap.departments ORDER BY code
