-- rag_attachments.retryable: only a failed download can be retried; it defaults to permanent.
begin;
select plan(4);

select tests.create_shop('alpha.myshopify.com');
select tests.authenticate_as_service_role();
insert into public.chatwoot_conversations (shop_id, account_id, conversation_id, document_id, channel, status,
  n_messages, n_turns, n_images, content_hash)
select id, 1, 10, 'chatwoot:1:conv:10', 'web_widget', 'open', 2, 1, 1, repeat('a', 64)
from public.shops where domain = 'alpha.myshopify.com';

select has_column('public', 'rag_attachments', 'retryable', 'rag_attachments records whether a failure is retried');
select lives_ok($$
  insert into public.rag_attachments (shop_id, attachment_key, account_id, conversation_id, message_id, node_id,
    status, reason, retryable)
  select id, '1:10:5:6', 1, 10, 5, 'chatwoot:1:conv:10:att:5:6', 'failed', 'http_status: 503', true
  from public.shops where domain = 'alpha.myshopify.com'
$$, 'a failed download may be retryable');
select throws_ok($$
  insert into public.rag_attachments (shop_id, attachment_key, account_id, conversation_id, message_id, node_id,
    status, reason, retryable)
  select id, '1:10:5:7', 1, 10, 5, 'chatwoot:1:conv:10:att:5:7', 'rejected', 'not_an_image: svg', true
  from public.shops where domain = 'alpha.myshopify.com'
$$, '23514', null, 'only a failed download can be retryable');
select is(
  (select retryable from public.rag_attachments where attachment_key = '1:10:5:6'), true,
  'the flag is stored');

select tests.clear_authentication();
select * from finish();
rollback;
