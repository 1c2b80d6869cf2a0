-- detect_shop_anomalies: judges every not-yet-judged complete day of every daily series of one
-- shop, oldest first, and records flagged points in public.anomalies.
--
-- For a point x on day d: the baseline is the same weekday in the previous window_weeks weeks,
-- leaving out d itself, missing days, days before the series' baseline start, and days already
-- flagged. With fewer than min_history baseline points the verdict is "insufficient history".
-- Otherwise expected = median, sigma = max(1.4826 * MAD, floor) where the floor is sqrt(expected)
-- for counts (Poisson noise) and 5% of expected otherwise; score = (x - expected) / sigma; flagged
-- when |score| > sensitivity in an allowed direction. When 4 of the last 7 days are flagged in the
-- same direction the series has moved to a new level: those points become a level shift (kept in
-- the baseline) and the baseline restarts at the shift.
-- Days newer than today - 1 - the source's expected lag (or than its last successful sync) are
-- not judged yet. New anomalies on the last 3 judged days raise alerts; older ones (first run
-- over history) are recorded silently.
create or replace function private.detect_shop_anomalies(p_shop_id uuid, p_today date default null)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  c_history_days constant integer := 400;
  v_tz text;
  v_today date;
  v_metric private.anomaly_metrics;
  -- one series from the dynamic query (scalars, not a record: plpgsql_check can type them)
  v_series_name text;
  v_series_source text;
  v_series_first_day date;
  v_series_vals numeric[];
  v_state public.anomaly_series_state;
  v_sens numeric;
  v_dir text;
  v_min integer;
  v_weeks integer;
  v_enabled boolean;
  v_max_weeks integer;
  v_from date;
  v_lag_days integer;
  v_last_sync date;
  v_through date;
  v_eval_start date;
  v_baseline_start date;
  v_flags integer[];
  v_day date;
  v_first_flag date;
  i integer;
  j integer;
  v_x numeric;
  v_base numeric[];
  v_expected numeric;
  v_mad numeric;
  v_sigma numeric;
  v_score numeric;
  v_flag integer;
  v_same integer;
  v_id bigint;
  v_verdict text;
  v_history integer;
  v_message text;
  v_low numeric;
  v_high numeric;
  v_fmt text;
  v_points integer := 0;
  v_insufficient integer := 0;
  v_new integer := 0;
  v_alerts integer := 0;
  v_skipped text[] := '{}'::text[];
begin
  select s.timezone into v_tz from public.shops s where s.id = p_shop_id;
  if v_tz is null then
    raise exception 'shop % not found', p_shop_id using errcode = 'OD002';
  end if;
  v_today := coalesce(p_today, (now() at time zone v_tz)::date);

  for v_metric in select * from private.anomaly_metrics m order by m.metric loop
    if v_metric.required_relation is not null and to_regclass(v_metric.required_relation) is null then
      v_skipped := v_skipped || v_metric.metric;
      continue;
    end if;
    v_fmt := case v_metric.unit when 'count' then 'FM999G999G999G990' else 'FM999G999G999G990D00' end;

    -- fetch from far enough back to cover the oldest unjudged day's window
    select greatest(8, coalesce(max(a.window_weeks), 8)) into v_max_weeks
    from public.anomaly_settings a where a.shop_id = p_shop_id;
    select min(s.last_evaluated_on) into v_from
    from public.anomaly_series_state s where s.shop_id = p_shop_id and s.metric = v_metric.metric;
    v_from := case
      when v_from is null or exists (
        select 1 from public.anomaly_series_state s
        where s.shop_id = p_shop_id and s.metric = v_metric.metric and s.last_evaluated_on is null)
      then v_today - c_history_days
      else greatest(v_from - 7 * (v_max_weeks + 1), v_today - c_history_days) end;

    -- one dense array per series, first day to yesterday; missing days are NULL or 0
    for v_series_name, v_series_source, v_series_first_day, v_series_vals in execute format($q$
      with v (series, source, day, value) as (%s),
      s as (select v.series, min(v.source) as source, min(v.day) as first_day from v group by v.series)
      select s.series, s.source, s.first_day,
             array(select case when x.value is not null then x.value when $4 then 0 end
                   from generate_series(s.first_day, $3, interval '1 day') g
                   left join (select v.day, sum(v.value) as value from v where v.series = s.series group by v.day) x
                     on x.day = g::date
                   order by g) as vals
      from s order by s.series $q$, v_metric.values_sql)
      using p_shop_id, v_from, v_today - 1, v_metric.fill_missing_with_zero
    loop
      select coalesce(e.sensitivity, m.sensitivity, v_metric.default_sensitivity),
             coalesce(e.direction, m.direction, v_metric.default_direction),
             coalesce(e.min_history, m.min_history, 4),
             coalesce(e.window_weeks, m.window_weeks, 8),
             coalesce(e.enabled, m.enabled, true)
      into v_sens, v_dir, v_min, v_weeks, v_enabled
      from (select 1) one
      left join public.anomaly_settings e on e.shop_id = p_shop_id and e.series = v_series_name
      left join public.anomaly_settings m on m.shop_id = p_shop_id and m.series = v_metric.metric;
      continue when not v_enabled;

      -- last complete day: yesterday, less the source's lag, and not past its last successful sync
      v_lag_days := 0;
      v_last_sync := null;
      if v_metric.uses_source_lag then
        select ceil(extract(epoch from coalesce(
                 (select d.expected_lag from public.data_sources d
                   where d.shop_id = p_shop_id and d.source = v_series_source),
                 (select d.expected_lag from private.source_defaults d where d.source = v_series_source),
                 interval '0')) / 86400)::integer
        into v_lag_days;
        select (max(r.finished_at) at time zone v_tz)::date - 1 into v_last_sync
        from public.sync_runs r
        where r.shop_id = p_shop_id and r.source = v_series_source and r.status = 'succeeded';
      end if;
      v_through := least(v_today - 1 - v_lag_days, coalesce(v_last_sync, v_today - 1));

      select * into v_state from public.anomaly_series_state s
      where s.shop_id = p_shop_id and s.series = v_series_name;
      v_baseline_start := v_state.baseline_start_on;
      v_eval_start := greatest(v_series_first_day, coalesce(v_state.last_evaluated_on + 1, v_series_first_day));
      continue when v_eval_start > v_through;

      -- +1 spike / -1 drop for points already flagged (and still excluded from baselines)
      v_flags := array_fill(0, array[cardinality(v_series_vals)]);
      for v_day, v_flag in
        select a.observed_on, case a.direction when 'spike' then 1 else -1 end
        from public.anomalies a
        where a.shop_id = p_shop_id and a.series = v_series_name and a.excluded_from_baseline
          and a.observed_on between v_series_first_day and v_through
      loop
        v_flags[v_day - v_series_first_day + 1] := v_flag;
      end loop;

      v_verdict := null;
      v_day := v_eval_start;
      while v_day <= v_through loop
        i := v_day - v_series_first_day + 1;
        v_x := v_series_vals[i];
        if v_x is not null then
          v_base := '{}';
          for k in 1..v_weeks loop
            j := i - 7 * k;
            exit when j < 1 or (v_baseline_start is not null and v_day - 7 * k < v_baseline_start);
            if v_series_vals[j] is not null and v_flags[j] = 0 then
              v_base := v_base || v_series_vals[j];
            end if;
          end loop;
          v_history := cardinality(v_base);

          if v_history < v_min then
            v_insufficient := v_insufficient + 1;
            v_verdict := 'insufficient_history';
            v_message := format('Insufficient history on %s: %s of %s same-weekday points needed%s.',
              v_day, v_history, v_min,
              case when v_baseline_start is not null then format(' (re-learning since the level shift on %s)', v_baseline_start)
                   else '' end);
          else
            v_points := v_points + 1;
            select percentile_cont(0.5) within group (order by b) into v_expected from unnest(v_base) b;
            select percentile_cont(0.5) within group (order by abs(b - v_expected)) into v_mad from unnest(v_base) b;
            v_sigma := greatest(1.4826 * v_mad,
                                case when v_metric.is_count then sqrt(greatest(v_expected, 1)) else 0.05 * abs(v_expected) end,
                                1e-6);
            v_score := (v_x - v_expected) / v_sigma;
            v_flag := case when v_score > v_sens and v_dir in ('both', 'spike') then 1
                           when -v_score > v_sens and v_dir in ('both', 'drop') then -1
                           else 0 end;
            v_low := greatest(0, v_expected - v_sens * v_sigma);
            v_high := v_expected + v_sens * v_sigma;
            if v_flag = 0 then
              v_verdict := 'ok';
              v_message := format('%s on %s: %s, within the normal range %s to %s.', v_metric.label, v_day,
                to_char(v_x, v_fmt), to_char(v_low, v_fmt), to_char(v_high, v_fmt));
            else
              v_verdict := 'anomaly';
              v_message := format('%s %s on %s: %s, expected about %s (normal range %s to %s).',
                v_metric.label, case when v_flag > 0 then 'spiked' else 'dropped' end,
                to_char(v_day, 'Dy DD Mon YYYY'), to_char(v_x, v_fmt), to_char(v_expected, v_fmt),
                to_char(v_low, v_fmt), to_char(v_high, v_fmt));
              v_id := null;
              insert into public.anomalies as a
                (shop_id, series, metric, source, observed_on, value, expected, band_low, band_high, score,
                 direction, sensitivity, history_points)
              values (p_shop_id, v_series_name, v_metric.metric, v_series_source, v_day, v_x, v_expected, v_low,
                      v_high, round(v_score, 4), case when v_flag > 0 then 'spike' else 'drop' end, v_sens, v_history)
              on conflict (shop_id, series, observed_on) do nothing
              returning a.id into v_id;
              v_flags[i] := v_flag;
              if v_id is not null then
                v_new := v_new + 1;
                if v_day >= v_through - 2 and private.enqueue_alert(
                     p_shop_id, 'anomaly', 'warning', v_series_source, v_message, v_message,
                     jsonb_build_object('anomaly_id', v_id, 'series', v_series_name, 'observed_on', v_day,
                                        'value', v_x, 'expected', v_expected, 'band', jsonb_build_array(v_low, v_high),
                                        'score', round(v_score, 2)),
                     format('anomaly:%s:%s', v_series_name, v_day)) is not null then
                  v_alerts := v_alerts + 1;
                end if;
              end if;

              -- a sustained move is a new level, not a run of incidents
              v_same := 0;
              v_first_flag := null;
              for k in reverse 6..0 loop
                if i - k >= 1 and v_flags[i - k] = v_flag then
                  v_same := v_same + 1;
                  v_first_flag := coalesce(v_first_flag, v_day - k);
                end if;
              end loop;
              if v_same >= 4 then
                v_baseline_start := v_first_flag;
                update public.anomalies a
                set kind = 'level_shift', excluded_from_baseline = false
                where a.shop_id = p_shop_id and a.series = v_series_name
                  and a.observed_on between v_first_flag and v_day
                  and a.direction = case when v_flag > 0 then 'spike' else 'drop' end;
                for k in 0..(v_day - v_first_flag) loop
                  v_flags[i - k] := 0;
                end loop;
                v_message := format('%s shifted %s since %s: %s on %s, previously about %s.',
                  v_metric.label, case when v_flag > 0 then 'up' else 'down' end, v_first_flag,
                  to_char(v_x, v_fmt), v_day, to_char(v_expected, v_fmt));
                if v_day >= v_through - 2 and private.enqueue_alert(
                     p_shop_id, 'anomaly', 'warning', v_series_source, v_message, v_message,
                     jsonb_build_object('series', v_series_name, 'level_shift_since', v_first_flag),
                     format('level_shift:%s:%s', v_series_name, v_first_flag)) is not null then
                  v_alerts := v_alerts + 1;
                end if;
              end if;
            end if;
          end if;
        end if;
        v_day := v_day + 1;
      end loop;

      insert into public.anomaly_series_state as s
        (shop_id, series, metric, source, last_evaluated_on, baseline_start_on, state, history_points, min_history,
         message, updated_at)
      values (p_shop_id, v_series_name, v_metric.metric, v_series_source, v_through, v_baseline_start,
              coalesce(v_verdict, 'insufficient_history'), coalesce(v_history, 0), v_min,
              coalesce(v_message, 'No data yet.'), now())
      on conflict (shop_id, series) do update
        set last_evaluated_on = excluded.last_evaluated_on, baseline_start_on = excluded.baseline_start_on,
            state = case when v_verdict is null then s.state else excluded.state end,
            history_points = case when v_verdict is null then s.history_points else excluded.history_points end,
            min_history = excluded.min_history,
            message = case when v_verdict is null then s.message else excluded.message end,
            updated_at = now();
    end loop;
  end loop;

  return jsonb_build_object('points_judged', v_points, 'points_insufficient_history', v_insufficient, 'anomalies', v_new, 'alerts_queued', v_alerts,
                            'skipped_metrics', to_jsonb(v_skipped));
end
$$;
comment on function private.detect_shop_anomalies(uuid, date) is
  'Judges newly complete days of every daily series of a shop (same-weekday median/MAD, leave-one-out, flagged points excluded).';
revoke execute on function private.detect_shop_anomalies(uuid, date) from public, anon, authenticated;
grant execute on function private.detect_shop_anomalies(uuid, date) to service_role;
