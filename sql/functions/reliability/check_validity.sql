-- check_validity: runs the source's validity rules (private.validity_rules) over recent rows.
-- observed = the worst rule's invalid fraction; any invalid row is yellow, more than 1% is red.
-- Returns NULL (no check) when the source has no applicable rule; grey when there is nothing
-- recent to validate.
create or replace function private.check_validity(p_source public.data_sources, p_now timestamptz)
returns public.data_quality_checks
language plpgsql
set search_path = ''
as $$
declare
  c_error_fraction constant numeric := 0.01;
  v_label text := private.source_label(p_source.source);
  v_rule private.validity_rules;
  v_checked bigint;
  v_invalid bigint;
  v_worst numeric;
  v_total_checked bigint := 0;
  v_failures text[] := '{}'::text[];
  v_results jsonb := '[]'::jsonb;
  v_rules integer := 0;
  v_status text;
  v_message text;
begin
  for v_rule in
    select * from private.validity_rules r where r.source = p_source.source order by r.rule
  loop
    continue when to_regclass(v_rule.required_relation) is null;
    execute v_rule.checked_sql into v_checked, v_invalid using p_source.shop_id;
    v_rules := v_rules + 1;
    v_total_checked := v_total_checked + coalesce(v_checked, 0);
    if coalesce(v_checked, 0) > 0 then
      v_worst := greatest(v_worst, v_invalid::numeric / v_checked);
    end if;
    if coalesce(v_invalid, 0) > 0 then
      v_failures := v_failures || format('%s of %s %s', v_invalid, v_checked, v_rule.description);
    end if;
    v_results := v_results || jsonb_build_object(
      'rule', v_rule.rule, 'kind', v_rule.kind, 'checked', v_checked, 'invalid', v_invalid);
  end loop;

  if v_rules = 0 then
    return null;
  end if;
  if v_total_checked = 0 then
    v_status := 'grey';
    v_message := format('No recent %s rows to validate.', v_label);
  else
    v_status := private.quality_status(v_worst, 0, c_error_fraction);
    v_message := case when cardinality(v_failures) = 0
      then format('All recent %s rows pass %s validity rules.', v_label, v_rules)
      else format('Invalid %s rows: %s.', v_label, array_to_string(v_failures, '; ')) end;
  end if;
  return row(
    null, p_source.shop_id, p_source.source, 'validity', v_status, v_worst, 0, c_error_fraction, 'ratio',
    v_message, jsonb_build_object('rules', v_results), p_now
  )::public.data_quality_checks;
end
$$;
comment on function private.check_validity(public.data_sources, timestamptz) is
  'Validity check: the source''s rules over recent rows; worst invalid fraction vs 0 (yellow) and 1% (red).';
revoke execute on function private.check_validity(public.data_sources, timestamptz) from public, anon, authenticated;
grant execute on function private.check_validity(public.data_sources, timestamptz) to service_role;
