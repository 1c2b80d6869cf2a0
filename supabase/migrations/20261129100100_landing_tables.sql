-- Source landing tables: raw facts from Shopify, Google Search Console, Google Analytics and
-- the storefront event stream. Loaded by jobs and `opsdata load` as service_role; members read.
-- Landing tables keep what the source said: range rules (negative amounts, CTR outside 0-1)
-- are reported by the data quality checks rather than rejected here.

-- ===== tables =======================================================================
-- one row per shop and product
create table public.products (
  shop_id uuid not null references public.shops (id) on delete cascade,
  id bigint not null,
  title text not null,
  handle text not null,
  status text not null default 'active' check (status in ('active', 'draft', 'archived')),
  price numeric(14, 2) not null,
  inventory integer,  -- NULL: inventory not tracked (always purchasable)
  is_gift_card boolean not null default false,
  is_published boolean not null default true,
  loaded_at timestamptz not null default now(),
  primary key (shop_id, id),
  unique (shop_id, handle)
);

-- one row per shop and order
create table public.shopify_orders (
  shop_id uuid not null references public.shops (id) on delete cascade,
  id bigint not null,
  created_at timestamptz not null,
  processed_at timestamptz,
  cancelled_at timestamptz,
  is_test boolean not null default false,
  customer_id bigint,
  currency char(3) not null,
  subtotal numeric(14, 2) not null,
  total numeric(14, 2) not null,
  total_refunded numeric(14, 2) not null default 0,
  landing_page text,
  source_name text,
  loaded_at timestamptz not null default now(),
  primary key (shop_id, id)
);

-- one row per shop and order line
create table public.shopify_order_lines (
  shop_id uuid not null,
  order_id bigint not null,
  line_id bigint not null,
  product_id bigint,  -- NULL for custom items and for products deleted in Shopify
  variant_id bigint,
  quantity integer not null,
  current_quantity integer not null,  -- quantity after refunds and edits
  unit_price numeric(14, 2) not null,
  discounted_total numeric(14, 2) not null,
  loaded_at timestamptz not null default now(),
  primary key (shop_id, line_id),
  foreign key (shop_id, order_id) references public.shopify_orders (shop_id, id) on delete cascade,
  foreign key (shop_id, product_id) references public.products (shop_id, id) on delete set null (product_id)
);

-- one row per shop, day and page (Search Console, search type web)
create table public.gsc_page_daily (
  shop_id uuid not null references public.shops (id) on delete cascade,
  date date not null,
  page text not null,
  clicks integer not null,
  impressions integer not null,
  ctr numeric(9, 6) not null,
  position numeric(9, 3) not null,
  is_final boolean not null default false,  -- GSC revises the last 2-3 days; final rows are settled
  loaded_at timestamptz not null default now(),
  primary key (shop_id, date, page)
);

-- one row per shop, day and landing page (GA4)
create table public.ga_page_daily (
  shop_id uuid not null references public.shops (id) on delete cascade,
  date date not null,
  page text not null,
  sessions integer not null,
  engaged_sessions integer not null,
  key_events integer not null,
  transactions integer not null,
  purchase_revenue numeric(14, 2) not null,  -- in the shop's currency
  loaded_at timestamptz not null default now(),
  primary key (shop_id, date, page)
);

-- one row per shop and storefront event (funnels: browse -> cart -> checkout -> purchase)
create table public.events (
  shop_id uuid not null references public.shops (id) on delete cascade,
  event_id text not null,  -- the source's id, so reloading is idempotent
  occurred_at timestamptz not null,
  person_id text not null,
  session_id text not null,
  event_name text not null,
  page text,
  properties jsonb not null default '{}'::jsonb,
  loaded_at timestamptz not null default now(),
  primary key (shop_id, event_id)
);

-- one row per execution of a loader or pipeline
create table public.sync_runs (
  id bigint generated always as identity primary key,
  shop_id uuid not null references public.shops (id) on delete cascade,
  source text not null check (source ~ '^[a-z][a-z0-9_]*$'),
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  rows_loaded integer not null default 0 check (rows_loaded >= 0),
  rows_rejected integer not null default 0 check (rows_rejected >= 0),
  max_data_at timestamptz,  -- newest data point the run delivered
  error text,
  details jsonb not null default '{}'::jsonb,
  check ((status = 'running') = (finished_at is null)),
  check (status <> 'failed' or error is not null)
);
comment on table public.sync_runs is
  'Every loader and pipeline records one row per execution; freshness checks read it.';

-- ===== indexes ======================================================================
create index shopify_orders_created_at_idx on public.shopify_orders (shop_id, created_at);
create index shopify_orders_customer_id_idx on public.shopify_orders (shop_id, customer_id);
create index shopify_order_lines_order_id_idx on public.shopify_order_lines (shop_id, order_id);
create index shopify_order_lines_product_id_idx on public.shopify_order_lines (shop_id, product_id);
create index gsc_page_daily_page_idx on public.gsc_page_daily (shop_id, page, date);
create index ga_page_daily_page_idx on public.ga_page_daily (shop_id, page, date);
create index events_occurred_at_idx on public.events (shop_id, occurred_at);
create index events_session_id_idx on public.events (shop_id, session_id, occurred_at);
create index sync_runs_started_at_idx on public.sync_runs (shop_id, started_at desc, id desc);
create index sync_runs_source_idx on public.sync_runs (shop_id, source, started_at desc);

-- ===== row level security ===========================================================
alter table public.products enable row level security;
alter table public.shopify_orders enable row level security;
alter table public.shopify_order_lines enable row level security;
alter table public.gsc_page_daily enable row level security;
alter table public.ga_page_daily enable row level security;
alter table public.events enable row level security;
alter table public.sync_runs enable row level security;

create policy members_read on public.products
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.shopify_orders
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.shopify_order_lines
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.gsc_page_daily
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.ga_page_daily
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.events
  for select to authenticated using (shop_id in (select private.my_shop_ids()));
create policy members_read on public.sync_runs
  for select to authenticated using (shop_id in (select private.my_shop_ids()));

-- ===== grants =======================================================================
revoke all on public.products, public.shopify_orders, public.shopify_order_lines,
  public.gsc_page_daily, public.ga_page_daily, public.events, public.sync_runs
  from anon, authenticated;
grant select on public.products, public.shopify_orders, public.shopify_order_lines,
  public.gsc_page_daily, public.ga_page_daily, public.events, public.sync_runs
  to authenticated;
grant select, insert, update, delete on public.products, public.shopify_orders,
  public.shopify_order_lines, public.gsc_page_daily, public.ga_page_daily, public.events,
  public.sync_runs
  to service_role;
