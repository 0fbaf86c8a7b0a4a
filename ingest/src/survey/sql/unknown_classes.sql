-- Land-class codes of a survey version that onemap.land_classes (GB/T 21010 and the survey's
-- working classes) does not list; a null code means the parcel has no DLBM.
SELECT f.props->>'DLBM' AS code, count(*) AS parcels
FROM onemap.features f
WHERE f.version_id = $1
  AND NOT EXISTS (SELECT 1 FROM onemap.land_classes c WHERE c.code = f.props->>'DLBM')
GROUP BY 1
ORDER BY 2 DESC, 1
