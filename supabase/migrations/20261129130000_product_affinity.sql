-- Product affinity ("bought together"): incremental state, the served view, change capture,
-- and the nightly job. The design (per-order baskets, running window totals, metrics computed
-- from the stored counts when read) is explained in sql/README.md, section "Product affinity".
-- Functions: sql/functions/affinity/.

-- ===== tables =======================================================================
-- Per-order baskets (the finest batch of co-occurrence counts: a day's pairs expand from its
-- baskets in milliseconds) and N per day: a refresh applies (new basket - old basket) of every
-- changed order (private.affinity_dirty_orders) to the windows, and moves each window by the
-- baskets of the days that entered or left it.

-- one row per shop and qualifying order in reach of a window: its de-duplicated basket as counted
create table private.affinity_baskets (
  shop_id uuid not null references public.shops (id) on delete cascade,
  order_id bigint not null,
  day date not null,                -- shop-local day of created_at
  product_ids bigint[] not null,    -- distinct, ascending
  primary key (shop_id, order_id)
);

-- one row per shop and day: qualifying orders that day (single-item orders included)
create table private.affinity_day_orders (
  shop_id uuid not null references public.shops (id) on delete cascade,
  day date not null,
  n_orders integer not null check (n_orders > 0),
  primary key (shop_id, day)
);

-- one row per shop and order whose row or lines changed since the last refresh (fed by triggers
-- on the landing tables)
create table private.affinity_dirty_orders (
  shop_id uuid not null references public.shops (id) on delete cascade,
  order_id bigint not null,
  marked_at timestamptz not null default now(),
  primary key (shop_id, order_id)
);

-- one row per shop and window: its settings and the state of its running totals
create table private.affinity_windows (
  shop_id uuid not null references public.shops (id) on delete cascade,
  window_days integer not null check (window_days between 1 and 3660),
  min_count integer not null default 5 check (min_count >= 1),
  first_day date,             -- the window the totals describe (NULL: never computed)
  last_day date,
  timezone text,              -- the shop's timezone when the days were cut
  n_orders integer not null default 0 check (n_orders >= 0),  -- N: qualifying orders in the window
  refreshed_at timestamptz,
  refresh_mode text check (refresh_mode in ('full', 'incremental')),
  primary key (shop_id, window_days),
  check ((first_day is null) = (last_day is null)),
  check (last_day is null or last_day - first_day + 1 = window_days)
);
comment on table private.affinity_windows is
  'Affinity windows per shop (default 365 days, min co-occurrence count 5) and the state of their totals.';

-- one row per shop, window and unordered pair seen at least once (product_id < other_product_id),
-- plus the diagonal (product_id = other_product_id: orders containing the product). Pairs below
-- min_count are kept so that a pair crossing the threshold needs no recount.
create table private.affinity_pair_totals (
  shop_id uuid not null,
  window_days integer not null,
  product_id bigint not null,
  other_product_id bigint not null,
  n_together integer not null check (n_together > 0),
  primary key (shop_id, window_days, product_id, other_product_id),
  foreign key (shop_id, window_days) references private.affinity_windows (shop_id, window_days) on delete cascade,
  check (product_id <= other_product_id)
) with (fillfactor = 80);  -- room for HOT updates: every refresh updates thousands of totals in place

-- ===== indexes ======================================================================
-- baskets leave by day
create index affinity_baskets_day_idx on private.affinity_baskets (shop_id, day);
-- the reverse direction of a pair (rules C -> A are read by C)
create index affinity_pair_totals_other_idx
  on private.affinity_pair_totals (shop_id, window_days, other_product_id, product_id)
  where product_id < other_product_id;
-- changed orders find their lines by order (shopify_order_lines_order_id_idx already exists)

-- ===== change capture ================================================================
-- Loaders upsert and rewrite only changed rows, so every insert, update or delete of an order or
-- a line marks its order for the next refresh. Statement-level triggers with transition tables:
-- one insert per statement, not per row. Rows changed while their shop is deleted (cascades,
-- products set to NULL) mark nothing.
create function private.affinity_mark_orders()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op in ('INSERT', 'UPDATE') then
    insert into private.affinity_dirty_orders (shop_id, order_id)
    select distinct n.shop_id, n.id from changed_new n
    where exists (select 1 from public.shops s where s.id = n.shop_id)
    on conflict (shop_id, order_id) do nothing;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    insert into private.affinity_dirty_orders (shop_id, order_id)
    select distinct o.shop_id, o.id from changed_old o
    where exists (select 1 from public.shops s where s.id = o.shop_id)
    on conflict (shop_id, order_id) do nothing;
  end if;
  return null;
end
$$;
comment on function private.affinity_mark_orders() is
  'Trigger on shopify_orders: marks inserted, updated and deleted orders for the affinity refresh.';

create function private.affinity_mark_line_orders()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op in ('INSERT', 'UPDATE') then
    insert into private.affinity_dirty_orders (shop_id, order_id)
    select distinct n.shop_id, n.order_id from changed_new n
    where exists (select 1 from public.shops s where s.id = n.shop_id)
    on conflict (shop_id, order_id) do nothing;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    insert into private.affinity_dirty_orders (shop_id, order_id)
    select distinct o.shop_id, o.order_id from changed_old o
    where exists (select 1 from public.shops s where s.id = o.shop_id)
    on conflict (shop_id, order_id) do nothing;
  end if;
  return null;
end
$$;
comment on function private.affinity_mark_line_orders() is
  'Trigger on shopify_order_lines: marks the orders whose lines changed for the affinity refresh.';

-- TRUNCATE has no transition table: forget every window's state, so the next refresh is full.
create function private.affinity_forget_state()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update private.affinity_windows set first_day = null, last_day = null, refreshed_at = null, refresh_mode = null;
  return null;
end
$$;
comment on function private.affinity_forget_state() is
  'Trigger on TRUNCATE of the order tables: the next affinity refresh of every shop recomputes in full.';

revoke execute on function private.affinity_mark_orders(), private.affinity_mark_line_orders(),
  private.affinity_forget_state() from public, anon, authenticated;

create trigger affinity_mark_inserted after insert on public.shopify_orders
  referencing new table as changed_new for each statement execute function private.affinity_mark_orders();
create trigger affinity_mark_updated after update on public.shopify_orders
  referencing old table as changed_old new table as changed_new
  for each statement execute function private.affinity_mark_orders();
create trigger affinity_mark_deleted after delete on public.shopify_orders
  referencing old table as changed_old for each statement execute function private.affinity_mark_orders();
create trigger affinity_forget_state after truncate on public.shopify_orders
  for each statement execute function private.affinity_forget_state();

create trigger affinity_mark_inserted after insert on public.shopify_order_lines
  referencing new table as changed_new for each statement execute function private.affinity_mark_line_orders();
create trigger affinity_mark_updated after update on public.shopify_order_lines
  referencing old table as changed_old new table as changed_new
  for each statement execute function private.affinity_mark_line_orders();
create trigger affinity_mark_deleted after delete on public.shopify_order_lines
  referencing old table as changed_old for each statement execute function private.affinity_mark_line_orders();
create trigger affinity_forget_state after truncate on public.shopify_order_lines
  for each statement execute function private.affinity_forget_state();

-- ===== row level security ===========================================================
alter table private.affinity_baskets enable row level security;
alter table private.affinity_day_orders enable row level security;
alter table private.affinity_dirty_orders enable row level security;
alter table private.affinity_windows enable row level security;
alter table private.affinity_pair_totals enable row level security;

-- The served view public.product_affinity reads these as the caller (security_invoker).
create policy members_read on private.affinity_windows
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on private.affinity_pair_totals
  for select to authenticated using (shop_id in (select private.my_shop_ids()));

-- ===== grants =======================================================================
revoke all on private.affinity_baskets, private.affinity_day_orders, private.affinity_dirty_orders,
  private.affinity_windows, private.affinity_pair_totals
  from public, anon, authenticated;
grant select on private.affinity_windows, private.affinity_pair_totals
  to authenticated;
grant select, insert, update, delete on private.affinity_baskets, private.affinity_day_orders,
  private.affinity_dirty_orders, private.affinity_windows, private.affinity_pair_totals
  to service_role;

-- ===== metrics ======================================================================
-- Lives here because the view below depends on it. Pure arithmetic on four counts, the same as
-- mlxtend's association_rules (sql/README.md). No SET clause, so the planner inlines it into the
-- view; every name is schema-qualified instead.
create function private.affinity_metrics(p_n_together bigint, p_n_product bigint, p_n_other bigint, p_n_orders bigint)
returns table (
  support double precision,
  confidence double precision,
  lift double precision,
  leverage double precision,
  conviction double precision,
  conviction_kind text,
  score double precision
)
language sql
immutable
as $$
  select
    p_n_together::float8 / p_n_orders,
    p_n_together::float8 / p_n_product,
    (p_n_together::float8 / p_n_product) / (p_n_other::float8 / p_n_orders),
    p_n_together::float8 / p_n_orders - (p_n_product::float8 / p_n_orders) * (p_n_other::float8 / p_n_orders),
    case when p_n_together < p_n_product
      then (1 - p_n_other::float8 / p_n_orders) / (1 - p_n_together::float8 / p_n_product)
    end,
    case
      when p_n_together < p_n_product then 'finite'
      when p_n_other < p_n_orders then 'infinite'  -- the rule never fails: (1 - sC) / 0
      else 'undefined'                             -- C is in every order: 0 / 0 (mlxtend: inf)
    end,
    -- shrunk lift: posterior mean of observed/expected under a Gamma(1, 1) prior centred on 1
    (p_n_together + 1.0::float8) / (p_n_product::float8 * p_n_other / p_n_orders + 1.0)
$$;
comment on function private.affinity_metrics(bigint, bigint, bigint, bigint) is
  'Rule metrics from counts (A and C together, A, C, N): support, confidence, lift, leverage, conviction (NULL unless finite, with conviction_kind), shrunk-lift score.';
revoke execute on function private.affinity_metrics(bigint, bigint, bigint, bigint) from public, anon;
grant execute on function private.affinity_metrics(bigint, bigint, bigint, bigint) to authenticated, service_role;

-- ===== the served rules =============================================================
-- one row per shop, window, product and other product (both directions of every pair whose
-- co-occurrence count reaches the window's min_count). Metrics are computed from the stored
-- counts when read, so a daily refresh touches only the pairs whose counts changed.
create view public.product_affinity
with (security_invoker = true)
as
with directed as (
  select t.shop_id, t.window_days, t.product_id, t.other_product_id, t.n_together
  from private.affinity_pair_totals t
  where t.product_id < t.other_product_id
  union all
  select t.shop_id, t.window_days, t.other_product_id, t.product_id, t.n_together
  from private.affinity_pair_totals t
  where t.product_id < t.other_product_id
)
select
  d.shop_id,
  d.window_days,
  d.product_id,
  d.other_product_id,
  d.n_together,
  a.n_together as n_product,
  c.n_together as n_other,
  w.n_orders,
  m.support,
  m.confidence,
  m.lift,
  m.leverage,
  m.conviction,
  m.conviction_kind,
  m.score,
  w.first_day,
  w.last_day,
  w.refreshed_at
from directed d
join private.affinity_windows w on w.shop_id = d.shop_id and w.window_days = d.window_days
join private.affinity_pair_totals a
  on a.shop_id = d.shop_id and a.window_days = d.window_days
 and a.product_id = d.product_id and a.other_product_id = d.product_id
join private.affinity_pair_totals c
  on c.shop_id = d.shop_id and c.window_days = d.window_days
 and c.product_id = d.other_product_id and c.other_product_id = d.other_product_id
cross join lateral private.affinity_metrics(d.n_together, a.n_together, c.n_together, w.n_orders) m
where d.n_together >= w.min_count;
comment on view public.product_affinity is
  'Bought-together rules product -> other product per shop and window: counts, support, confidence, lift, leverage, conviction (NULL unless conviction_kind = finite), score (shrunk lift). Reads as the caller: members see their shops.';

revoke all on public.product_affinity from anon, authenticated;
grant select on public.product_affinity to authenticated, service_role;

-- ===== jobs =========================================================================
-- A job whose command contains $1 runs once per shop (private.run_job passes the shop id).
alter table private.jobs
  add column per_shop boolean generated always as (position('$1' in command) > 0) stored;
comment on column private.jobs.per_shop is
  'True when the command takes the shop id as $1: run_job runs it for one shop, or for every shop.';

-- run_job gains an optional shop argument (sql/functions/jobs/run_job.sql); drop the old one so
-- that `private.run_job('name')` stays unambiguous.
drop function if exists private.run_job(text);

-- ===== schedules ====================================================================
select private.schedule_job(
  'refresh_affinity', '40 2 * * *', 'private.refresh_affinity(p_shop_id => $1)',
  'Product affinity: applies new and changed orders to every window, drops the days that left it.'
);
