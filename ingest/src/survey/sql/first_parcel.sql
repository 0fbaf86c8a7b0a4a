-- One parcel's attributes, to see which canonical DLTB fields the delivery carries.
SELECT props FROM onemap.features WHERE version_id = $1 ORDER BY fid LIMIT 1
