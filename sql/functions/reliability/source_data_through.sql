-- source_data_through: the newest data time a source has for a shop: the newer of what its
-- sync runs reported (max_data_at) and what its landing table holds. NULL when neither knows.
create or replace function private.source_data_through(p_shop_id uuid, p_source text)
returns timestamptz
language plpgsql stable
set search_path = ''
as $$
declare
  v_reported timestamptz;
  v_landed timestamptz;
  v_defaults private.source_defaults;
begin
  select max(r.max_data_at) into v_reported
  from public.sync_runs r
  where r.shop_id = p_shop_id and r.source = p_source and r.status = 'succeeded';

  select * into v_defaults from private.source_defaults d where d.source = p_source;
  if v_defaults.data_through_sql is not null
     and (v_defaults.required_relation is null or to_regclass(v_defaults.required_relation) is not null) then
    execute v_defaults.data_through_sql into v_landed using p_shop_id;
  end if;
  return greatest(v_reported, v_landed);  -- greatest ignores NULLs
end
$$;
comment on function private.source_data_through(uuid, text) is
  'Newest data time of a source: max of sync_runs.max_data_at and the landing table''s newest row.';
revoke execute on function private.source_data_through(uuid, text) from public, anon, authenticated;
grant execute on function private.source_data_through(uuid, text) to service_role;
