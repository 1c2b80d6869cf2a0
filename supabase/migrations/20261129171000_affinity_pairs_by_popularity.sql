-- Product affinity: a pair is stored with its lower-numbered product first, and a full refresh
-- numbers products by popularity (most bought = 1), instead of lower product id first.
-- Why: each pair is one row, found from its first product by the primary key (its rows side by
-- side) and from its second through the hash index (one row per heap page). Ordered by id, the
-- most-ruled product of the benchmark shop found 2,729 of its 3,469 partners the second way, on
-- 2,991 pages (5 ms of frequently_bought_with's 8); by popularity, a product finds its partners
-- the slow way only among products bought more often than itself.
-- Design and figures: sql/README.md, section "Product affinity".

alter table private.affinity_pair_totals drop constraint affinity_pair_totals_check;
alter table private.affinity_pair_totals add constraint affinity_pair_totals_check check (product_id <> other_product_id);
comment on table private.affinity_pair_totals is
  'Per shop and window: orders holding both products of a pair, stored once, its lower-numbered product (private.affinity_products) first; every pair seen at least once. Derived by private.refresh_affinity.';

-- The stored pairs are ordered by id: every window is marked never computed, so the next refresh
-- of every shop rebuilds them in full (and numbers the products by popularity). Until then the
-- stored rules are served as they are.
update private.affinity_windows set first_day = null, last_day = null, refreshed_at = null, refresh_mode = null;
comment on table private.affinity_products is
  'Dense per-shop product numbers of the affinity baskets (private.affinity_baskets.product_nos): by popularity at a full refresh (most bought = 1), new products next; they change only in a full refresh, which rebuilds every basket.';
