DELETE FROM onemap.layer_shares WHERE layer_key = $1
