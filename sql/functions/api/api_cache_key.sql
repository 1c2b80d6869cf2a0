-- api_cache_key: the read API cache's key for a request: sha256 over the endpoint and its
-- normalized parameters (p_material, canonical JSON built by the API) and the caller's shop
-- scope (p_scope: the resolved shop id, or the caller's sorted 'shop_id:role' memberships).
-- Computed only here, so that reads (keyed inside the request's transaction, where the scope
-- was resolved) and writes agree by construction.
create or replace function private.api_cache_key(p_material text, p_scope text[])
returns text
language sql
immutable
strict
set search_path = ''
as $$
  select encode(pg_catalog.sha256(convert_to(p_material || E'\n' || array_to_string(p_scope, ','), 'UTF8')), 'hex')
$$;
comment on function private.api_cache_key(text, text[]) is
  'Read API cache key: sha256 of the request''s normalized parameters and the caller''s shop scope.';
revoke execute on function private.api_cache_key(text, text[]) from public, anon, authenticated;
grant execute on function private.api_cache_key(text, text[]) to service_role;
