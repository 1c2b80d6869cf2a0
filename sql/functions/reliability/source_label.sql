-- source_label: the name people know a source by ("Google Search Console"); the key otherwise.
-- SECURITY DEFINER so members' reads can show labels without reading the private registry.
create or replace function private.source_label(p_source text)
returns text
language sql stable security definer
set search_path = ''
as $$
  select coalesce((select d.label from private.source_defaults d where d.source = p_source), p_source)
$$;
comment on function private.source_label(text) is 'Display name of a source for messages and alerts.';
revoke execute on function private.source_label(text) from public, anon;
grant execute on function private.source_label(text) to authenticated, service_role;
