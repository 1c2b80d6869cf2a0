-- refresh_affinity: brings a shop's product affinity up to date. Job: refresh_affinity (nightly,
-- per shop); also `opsdata jobs run refresh_affinity --shop DOMAIN`.
--
-- Incremental (the normal case): the orders marked by the triggers (private.affinity_dirty_orders)
-- get their basket re-read; each window then changes by + the pairs of the baskets of days that
-- entered it - those of days that left it + (new basket - old basket) of changed orders in days
-- it held. Cost follows the changed orders and the days crossing the window edges, not the history. Full (first run, p_full, timezone changed, as-of date moved back, more than
-- 100,000 changed orders): every basket of the longest window is re-read and every total rebuilt.
-- Either way one transaction: readers see the previous result until it commits.
-- Records the run in public.sync_runs (source 'affinity'). Errors: OD002 unknown shop, OD003 bad argument.
create or replace function private.refresh_affinity(
  p_shop_id uuid,
  p_window_days integer default null,  -- add or update this window (default: the shop's windows, else 365)
  p_min_count integer default null,    -- its minimum co-occurrence count (default 5)
  p_as_of date default null,           -- last day in the windows (default: today in the shop's timezone)
  p_full boolean default false
)
returns jsonb
language plpgsql
set search_path = ''
set jit = off  -- JIT compilation costs more than it saves on these joins
-- a full refresh's lines, pair join and pair counts stay in memory (about 200 MB at 500k orders a year)
set work_mem = '128MB'
set client_min_messages = warning  -- no notices from dropping temp tables that do not exist
-- switched off for the full path's one statement below; listed here so the caller's values return on exit
set enable_nestloop = on
set enable_mergejoin = on
-- the state is read by key (changed orders, days at the window edges, pairs to update): at the
-- default 4 the planner prefers scanning 500k baskets to 4k index probes of hot pages
set random_page_cost = 1.1
as $$
declare
  v_started timestamptz := clock_timestamp();
  v_tz text;
  v_as_of date;
  v_min_first date;
  v_full boolean;
  v_changed_ids bigint[];
  v_changed_orders integer;
  v_zero_pairs tid[];
  v_zero_products tid[];
  v_negative bigint;
  v_changed bigint := 0;
  v_rows bigint;
  v_first date;
  v_windows jsonb := '[]'::jsonb;
  v_run_id bigint;
  v_w private.affinity_windows;
begin
  select s.timezone into v_tz from public.shops s where s.id = p_shop_id;
  if not found then
    raise exception 'shop % not found', p_shop_id using errcode = 'OD002';
  end if;
  if p_window_days is not null and p_window_days not between 1 and 3660 then
    raise exception 'window_days must be between 1 and 3660 (got %)', p_window_days using errcode = 'OD003';
  end if;
  if p_min_count is not null and p_min_count < 1 then
    raise exception 'min_count must be at least 1 (got %)', p_min_count using errcode = 'OD003';
  end if;
  -- one refresh per shop at a time; a second waits and then finds little left to do
  perform pg_advisory_xact_lock(hashtextextended('opsdata.refresh_affinity:' || p_shop_id::text, 0));

  v_as_of := coalesce(p_as_of, (now() at time zone v_tz)::date);

  -- ---- the windows to maintain --------------------------------------------------------
  if p_window_days is not null then
    insert into private.affinity_windows as w (shop_id, window_days, min_count)
    values (p_shop_id, p_window_days, coalesce(p_min_count, 5))
    on conflict (shop_id, window_days) do update set min_count = coalesce(p_min_count, w.min_count);
  elsif p_min_count is not null then
    update private.affinity_windows w set min_count = p_min_count where w.shop_id = p_shop_id;
  end if;
  insert into private.affinity_windows (shop_id, window_days, min_count)
  select p_shop_id, 365, coalesce(p_min_count, 5)
  where not exists (select 1 from private.affinity_windows w where w.shop_id = p_shop_id);

  -- ---- the changed orders --------------------------------------------------------------
  -- Marks are taken before the orders are read (each statement sees newer data than the
  -- previous one), so a change committed meanwhile is read now or keeps its own mark.
  with taken as (
    delete from private.affinity_dirty_orders d where d.shop_id = p_shop_id returning d.order_id
  )
  select coalesce(array_agg(t.order_id), '{}') into v_changed_ids from taken t;
  v_changed_orders := cardinality(v_changed_ids);

  select p_full or v_changed_orders > 100000
         or bool_or(w.last_day is null or w.timezone is distinct from v_tz or w.last_day > v_as_of),
         v_as_of - max(w.window_days) + 1
  into v_full, v_min_first
  from private.affinity_windows w where w.shop_id = p_shop_id;

  if v_full then
    -- ---- the lines of every order in reach of a window (later days too: they enter windows
    -- later), read once into a scratch table and analyzed: the planner cannot size the window (its
    -- bounds depend on the timezone) and would look lines up order by order; with the real counts
    -- it hashes every step below. Baskets, N per day and each window's totals come from them.
    delete from private.affinity_baskets b where b.shop_id = p_shop_id;
    delete from private.affinity_day_orders o where o.shop_id = p_shop_id;
    delete from private.affinity_pair_totals t where t.shop_id = p_shop_id;
    delete from private.affinity_product_totals t where t.shop_id = p_shop_id;
    delete from private.affinity_products p where p.shop_id = p_shop_id;  -- renumbered below, by popularity
    drop table if exists pg_temp.affinity_lines;
    perform 'PRAGMA:TABLE: affinity_lines (order_id bigint, day date, product_id bigint)';  -- for plpgsql_check
    set local enable_nestloop = off;
    set local enable_mergejoin = off;
    create temp table affinity_lines on commit drop as
      select l.order_id, l.day, l.product_id
      from private.affinity_lines_of(p_shop_id, v_min_first, 'infinity') l;
    set local enable_nestloop = on;
    set local enable_mergejoin = on;
    analyze pg_temp.affinity_lines;
    perform private.affinity_number_products(p_shop_id, array(
      select l.product_id from pg_temp.affinity_lines l group by l.product_id order by count(*) desc, l.product_id));
    insert into private.affinity_baskets (shop_id, order_id, day, product_nos)
    select p_shop_id, l.order_id, min(l.day), array_agg(p.product_no order by p.product_no)
    from pg_temp.affinity_lines l
    join private.affinity_products p on p.shop_id = p_shop_id and p.product_id = l.product_id
    group by l.order_id;
    insert into private.affinity_day_orders (shop_id, day, n_orders)
    select p_shop_id, b.day, count(*)
    from private.affinity_baskets b where b.shop_id = p_shop_id
    group by b.day;
  else
    -- ---- the changed orders' baskets: new ones in, old ones out -------------------------
    drop table if exists pg_temp.affinity_new_lines, pg_temp.affinity_new, pg_temp.affinity_old;
    -- The PRAGMA strings do nothing at run time; they tell plpgsql_check (`supabase db lint`)
    -- the shape of the temporary tables, which static analysis cannot see being created.
    perform 'PRAGMA:TABLE: affinity_new_lines (order_id bigint, day date, product_id bigint)';
    perform 'PRAGMA:TABLE: affinity_new (order_id bigint, day date, product_nos integer[])';
    perform 'PRAGMA:TABLE: affinity_old (order_id bigint, day date, product_nos integer[])';
    -- EXECUTE plans with the actual ids, so the orders are found by primary key (with the
    -- window's bounds in the query, the planner would scan the window by date instead)
    execute 'create temp table affinity_new_lines on commit drop as
             select l.order_id, l.day, l.product_id
             from private.affinity_lines_of($1, ''-infinity'', ''infinity'', $2) l'
    using p_shop_id, v_changed_ids;
    perform private.affinity_number_products(p_shop_id, array(
      select l.product_id from pg_temp.affinity_new_lines l group by l.product_id order by count(*) desc, l.product_id));
    create temp table affinity_new on commit drop as
    select l.order_id, min(l.day) as day, array_agg(p.product_no order by p.product_no) as product_nos
    from pg_temp.affinity_new_lines l
    join private.affinity_products p on p.shop_id = p_shop_id and p.product_id = l.product_id
    group by l.order_id
    having min(l.day) >= v_min_first;
    -- every old basket, those on days now leaving the windows included (their delta is what
    -- makes "stored pairs - delta" equal what the day added before)
    create temp table affinity_old on commit drop as
    with gone as (
      delete from private.affinity_baskets b
      where b.shop_id = p_shop_id and b.order_id = any (v_changed_ids)
      returning b.order_id, b.day, b.product_nos
    )
    select g.order_id, g.day, g.product_nos from gone g;
    insert into private.affinity_baskets (shop_id, order_id, day, product_nos)
    select p_shop_id, n.order_id, n.day, n.product_nos from pg_temp.affinity_new n;

    merge into private.affinity_day_orders t
    using (
      select x.day, sum(x.n)::integer as n
      from (select n.day, 1 as n from pg_temp.affinity_new n
            union all
            select o.day, -1 from pg_temp.affinity_old o) x
      group by x.day
      having sum(x.n) <> 0
    ) d
    on t.shop_id = p_shop_id and t.day = d.day
    when matched and t.n_orders + d.n = 0 then delete
    when matched then update set n_orders = t.n_orders + d.n
    when not matched then insert (shop_id, day, n_orders) values (p_shop_id, d.day, d.n);
  end if;

  -- ---- move every window ------------------------------------------------------------
  for v_w in select * from private.affinity_windows x where x.shop_id = p_shop_id order by x.window_days loop
    v_first := v_as_of - v_w.window_days + 1;
    if v_full then
      -- pairs and the diagonal counted from the baskets just stored (affinity_pair_counts), back in
      -- product ids (the lower-numbered product first): the pairs go to the pair totals, the
      -- diagonal to the product totals. Written in key order: appending to the primary key's last
      -- page skips its descent (half the cost of random order), and a product's pairs end up together.
      set local enable_nestloop = off;  -- 570k counts: hash joins on the few thousand products
      with counts as materialized (
        select a.product_id, o.product_id as other_product_id, c.n
        from private.affinity_pair_counts(p_shop_id, v_first, v_as_of) c
        join private.affinity_products a on a.shop_id = p_shop_id and a.product_no = c.product_no
        join private.affinity_products o on o.shop_id = p_shop_id and o.product_no = c.other_product_no
      ),
      products as (
        insert into private.affinity_product_totals (shop_id, window_days, product_id, n_orders)
        select p_shop_id, v_w.window_days, c.product_id, c.n from counts c
        where c.product_id = c.other_product_id
        order by c.product_id
        returning 1
      ),
      pairs as (
        insert into private.affinity_pair_totals (shop_id, window_days, product_id, other_product_id, n_together)
        select p_shop_id, v_w.window_days, c.product_id, c.other_product_id, c.n from counts c
        where c.product_id <> c.other_product_id
        order by c.product_id, c.other_product_id
        returning 1
      )
      select (select count(*) from products) + (select count(*) from pairs) into v_rows;
      set local enable_nestloop = on;
      v_changed := v_changed + v_rows;
    else
      -- A day's pairs now = the pairs of its stored baskets; before = now - delta(day), where
      -- delta = pairs of new baskets - pairs of old baskets of changed orders. So the window
      -- changes by + now(days entering) - now(days leaving) + delta(days it held before).
      -- One set of changes per pair (and per product: the diagonal), applied by an upsert in key
      -- order to the pair totals and one to the product totals (no join to plan: each row finds
      -- its total by the primary key); EXECUTE plans with the actual days, so only their baskets
      -- are read. A total reaching 0 is deleted afterwards by the row address the upsert returned
      -- (a TID scan: no lookup and no join to plan; a join on the keys was planned from the
      -- statistics, which for a new shop or window say "one row", and cost 0.7 s when a day left
      -- the window). Those rows stay valid: this transaction holds their locks until it commits.
      set local enable_nestloop = off;  -- numbers to ids: two hash joins, not 2 x 13k index probes
      execute 'with delta as (
          select a.product_id, o.product_id as other_product_id, x.n
          from (
            select x.product_no, x.other_product_no, sum(c.n)::integer as n
            from (
              select b.product_nos, case when b.day = any ($3) then 1 else -1 end as n
              from private.affinity_baskets b
              where b.shop_id = $1 and b.day = any ($3 || $4)
              union all
              select n.product_nos, 1 from pg_temp.affinity_new n where n.day between $5 and $6
              union all
              select o.product_nos, -1 from pg_temp.affinity_old o where o.day between $5 and $6
            ) c
            cross join lateral (
              select a.product_no, o.product_no as other_product_no
              from unnest(c.product_nos) a (product_no), unnest(c.product_nos) o (product_no)
              where a.product_no <= o.product_no  -- the diagonal counts the products themselves
            ) x
            group by x.product_no, x.other_product_no
            having sum(c.n) <> 0
          ) x
          join private.affinity_products a on a.shop_id = $1 and a.product_no = x.product_no
          join private.affinity_products o on o.shop_id = $1 and o.product_no = x.other_product_no
        ),
        pairs as (
          insert into private.affinity_pair_totals as t (shop_id, window_days, product_id, other_product_id, n_together)
          select $1, $2, d.product_id, d.other_product_id, d.n from delta d
          where d.product_id <> d.other_product_id
          order by d.product_id, d.other_product_id
          on conflict (shop_id, window_days, product_id, other_product_id)
            do update set n_together = t.n_together + excluded.n_together
          returning t.ctid, t.n_together as n
        ),
        products as (
          insert into private.affinity_product_totals as t (shop_id, window_days, product_id, n_orders)
          select $1, $2, d.product_id, d.n from delta d
          where d.product_id = d.other_product_id
          order by d.product_id
          on conflict (shop_id, window_days, product_id)
            do update set n_orders = t.n_orders + excluded.n_orders
          returning t.ctid, t.n_orders as n
        )
        select (select count(*) from pairs) + (select count(*) from products),
               (select coalesce(array_agg(p.ctid) filter (where p.n = 0), ''{}'') from pairs p),
               (select coalesce(array_agg(p.ctid) filter (where p.n = 0), ''{}'') from products p),
               (select count(*) filter (where p.n < 0) from pairs p)
                 + (select count(*) filter (where p.n < 0) from products p)'
      into v_rows, v_zero_pairs, v_zero_products, v_negative
      using p_shop_id, v_w.window_days,
        array(select g::date from generate_series(v_first, v_as_of, interval '1 day') g
              where g::date not between v_w.first_day and v_w.last_day),
        array(select g::date from generate_series(v_w.first_day, v_w.last_day, interval '1 day') g
              where g::date not between v_first and v_as_of),
        v_w.first_day, v_w.last_day;
      set local enable_nestloop = on;
      if v_negative > 0 then  -- cannot happen while baskets and totals agree; never store it
        raise exception 'affinity state of shop % is inconsistent: % negative pair totals', p_shop_id, v_negative
          using hint = 'run private.refresh_affinity(p_shop_id, p_full => true)';
      end if;
      if cardinality(v_zero_pairs) > 0 then
        delete from private.affinity_pair_totals t where t.ctid = any (v_zero_pairs) and t.n_together = 0;
      end if;
      if cardinality(v_zero_products) > 0 then
        delete from private.affinity_product_totals t where t.ctid = any (v_zero_products) and t.n_orders = 0;
      end if;
      v_changed := v_changed + v_rows;
    end if;

    update private.affinity_windows x
    set first_day = v_first,
        last_day = v_as_of,
        timezone = v_tz,
        n_orders = (select coalesce(sum(o.n_orders), 0) from private.affinity_day_orders o
                    where o.shop_id = p_shop_id and o.day between v_first and v_as_of),
        refreshed_at = now(),
        refresh_mode = case when v_full then 'full' else 'incremental' end
    where x.shop_id = p_shop_id and x.window_days = v_w.window_days
    returning * into v_w;
    v_windows := v_windows || jsonb_build_object(
      'window_days', v_w.window_days, 'min_count', v_w.min_count,
      'first_day', v_w.first_day, 'last_day', v_w.last_day, 'n_orders', v_w.n_orders);
  end loop;

  -- A full refresh replaced the shop's state wholesale: statistics from before it describe other
  -- rows (a new shop or window: "one row"), and a planner that believes them reads the whole
  -- product_affinity view of a new window by nested loops (over 20 s at 500k orders; 0.2 s after
  -- ANALYZE, which costs ~0.1 s; its lock, held to commit, blocks only VACUUM and other ANALYZEs,
  -- not reads or writes). Only the tables' owner may analyze them (pg_cron runs the job as that
  -- owner); anyone else leaves it to autovacuum.
  if v_full and pg_has_role((select c.relowner from pg_catalog.pg_class c
                             where c.oid = 'private.affinity_pair_totals'::regclass), 'USAGE') then
    analyze private.affinity_pair_totals, private.affinity_product_totals, private.affinity_baskets,
            private.affinity_products;
  end if;

  -- days no window reaches any more
  delete from private.affinity_baskets b where b.shop_id = p_shop_id and b.day < v_min_first;
  delete from private.affinity_day_orders o where o.shop_id = p_shop_id and o.day < v_min_first;
  drop table if exists pg_temp.affinity_lines, pg_temp.affinity_new_lines, pg_temp.affinity_new, pg_temp.affinity_old;

  insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded, max_data_at, details)
  values (
    p_shop_id, 'affinity', v_started, clock_timestamp(), 'succeeded', v_changed,
    (select max(o.created_at) from public.shopify_orders o
     where o.shop_id = p_shop_id and o.created_at < ((v_as_of + 1)::timestamp at time zone v_tz)),
    jsonb_build_object('mode', case when v_full then 'full' else 'incremental' end,
                       'as_of', v_as_of, 'orders_changed', v_changed_orders, 'windows', v_windows)
  )
  returning id into v_run_id;

  return jsonb_build_object(
    'shop_id', p_shop_id, 'mode', case when v_full then 'full' else 'incremental' end,
    'as_of', v_as_of, 'orders_changed', v_changed_orders, 'totals_changed', v_changed,
    'windows', v_windows, 'sync_run_id', v_run_id);
end
$$;
comment on function private.refresh_affinity(uuid, integer, integer, date, boolean) is
  'Brings product affinity of a shop up to date (incremental unless p_full or first run); records a sync_runs row; returns a summary.';
revoke execute on function private.refresh_affinity(uuid, integer, integer, date, boolean) from public, anon, authenticated;
grant execute on function private.refresh_affinity(uuid, integer, integer, date, boolean) to service_role;
