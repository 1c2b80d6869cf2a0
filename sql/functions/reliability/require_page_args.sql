-- require_page_args: the argument checks of a keyset-paginated read, after its membership check:
-- p_limit within 1..p_max_limit, and a cursor (the last row's key, one flag per part in
-- p_cursor_given) given whole or not at all; p_cursor names its parameters for the message.
-- Errors: OD003 for either.
create or replace function private.require_page_args(
  p_limit integer, p_max_limit integer, p_cursor_given boolean[], p_cursor text)
returns void
language plpgsql immutable
set search_path = ''
as $$
begin
  if p_limit is null or p_limit not between 1 and p_max_limit then
    raise exception 'p_limit must be between 1 and % (got %)', p_max_limit, p_limit using errcode = 'OD003';
  end if;
  if true = any (p_cursor_given) and false = any (p_cursor_given) then
    raise exception '% go together', p_cursor using errcode = 'OD003';
  end if;
end
$$;
comment on function private.require_page_args(integer, integer, boolean[], text) is
  'Raises OD003 for a page size outside 1..p_max_limit or half a keyset cursor.';
revoke execute on function private.require_page_args(integer, integer, boolean[], text) from public, anon;
grant execute on function private.require_page_args(integer, integer, boolean[], text) to authenticated, service_role;
