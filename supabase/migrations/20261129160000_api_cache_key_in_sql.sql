-- The read API cache's key is computed in SQL (private.api_cache_key, from the request's
-- normalized parameters and the scope resolved in the same transaction), so a cached read is
-- one round trip. The functions keyed by a precomputed key go; entries under old keys are dropped
-- (they could never be hit again).
drop function if exists private.api_cache_get(text);
drop function if exists private.api_cache_put(text, text, uuid[], text, bigint, text, integer);
delete from private.api_cache;
