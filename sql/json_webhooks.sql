-- stripe_fdw webhooks read elsewhere: webhook_receive() verifies a delivery in SQL (pgcrypto, no
-- library) and says which objects to read; webhook_apply() records the event and applies what was
-- read, as handle_webhook() does with its own reads. The stripe-sync Edge Function calls both, in
-- one transaction (docs/hosted-supabase.md).
-- Needs sql/json_apply.sql, sql/webhook_sig.sql (_verify_signature) and sql/webhooks.sql.

-- The account a delivery is for, and its verified event: the named account's secrets, or, with no
-- name, the one account whose secrets verify it. Refusals are 28000 (the signature), 22023 (signed,
-- but not an event, or another account's or mode's); nothing is written.
create function stripe_fdw._json_verify(p_server text, payload text, stripe_signature text,
                                        out server text, out ev jsonb)
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    a     stripe_fdw.accounts;
    cands text[];
    c     text;
    found_n int := 0;
    st    text;
    msg   text;
    hnt   text;
    r_st  text;
    r_msg text;
    r_hnt text;
begin
    if p_server is not null then
        cands := array[(stripe_fdw._account(p_server)).server];
    else
        cands := array(select x.server from stripe_fdw.accounts x order by x.server);
        if pg_catalog.cardinality(cands) = 0 then
            raise exception 'stripe_fdw: there is no account to verify this delivery with'
                using errcode = '42704', hint = 'select stripe_fdw.create_account(''stripe''); (docs/hosted-supabase.md)';
        end if;
    end if;
    foreach c in array cands loop
        begin
            perform stripe_fdw._verify_signature(payload, stripe_signature, stripe_fdw._webhook_secrets(c));
            found_n := found_n + 1;
            server := c;
        exception when others then
            get stacked diagnostics st = returned_sqlstate, msg = message_text, hnt = pg_exception_hint;
            if pg_catalog.cardinality(cands) = 1 then
                raise;
            end if;
            if st = '28000' and (r_st is null or msg like '%old%') then
                r_st := st; r_msg := msg; r_hnt := hnt;
            elsif r_st is null then
                r_st := st; r_msg := msg; r_hnt := hnt;
            end if;
        end;
    end loop;
    if found_n > 1 then
        raise exception 'stripe_fdw: the webhook secrets of % accounts verify this delivery: one endpoint is shared by several accounts', found_n
            using errcode = '42725',
                  hint = 'Give each account the signing secret of its own endpoint (one endpoint per environment), or name the account.';
    elsif found_n = 0 then
        perform stripe_fdw._reraise(r_st, r_msg, null, r_hnt);
    end if;
    begin
        ev := payload::jsonb;
    exception when others then
        ev := null;
    end;
    if pg_catalog.jsonb_typeof(ev) is distinct from 'object' or ev ->> 'object' is distinct from 'event'
       or pg_catalog.jsonb_typeof(ev -> 'id') is distinct from 'string' or pg_catalog.jsonb_typeof(ev -> 'type') is distinct from 'string' then
        raise exception 'stripe_fdw: the signed payload is not a Stripe event (a JSON object with "object": "event", an id and a type)'
            using errcode = '22023', hint = 'Pass the raw request body unchanged.';
    end if;
    a := stripe_fdw._account(server);
    if a.livemode is not null and pg_catalog.jsonb_typeof(ev -> 'livemode') = 'boolean' and (ev ->> 'livemode')::bool <> a.livemode then
        raise exception 'stripe_fdw: webhook refused: a %-mode event reached account "%", which reads %-mode data',
                        case when (ev ->> 'livemode')::bool then 'live' else 'test' end, server,
                        case when a.livemode then 'live' else 'test' end
            using errcode = '22023',
                  hint = 'One endpoint per environment: register this database''s endpoint in the mode of its key, with that endpoint''s signing secret.';
    end if;
    if a.account is not null and ev ->> 'account' is not null and ev ->> 'account' <> a.account then
        raise exception 'stripe_fdw: webhook refused: the event is for account %, and "%" reads account %', ev ->> 'account', server, a.account
            using errcode = '22023',
                  hint = 'One endpoint per account: remove this URL from the other account''s endpoints.';
    end if;
end
$$;

-- Is p_object of account p_server read by anything the caller registered?
create function stripe_fdw._json_fed(p_server text, p_object text) returns bool
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select exists (select from stripe_fdw._sync_targets() t
                    cross join lateral stripe_fdw._source_info(t.source) i
                    where i.server = p_server and i.object = p_object)
$$;

-- The roles that registered sync targets taking p_object from account p_server (row-level
-- security hides other roles' registrations from the caller, not from this count). Only
-- registrations that can apply: their table is there, owned as when registered.
create function stripe_fdw._json_registrants(p_server text, p_object text) returns regrole[]
language sql stable security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.array_agg(distinct g.registrant), '{}')
      from stripe_fdw.sync_registry g
      join stripe_fdw.json_sources j on (j.source_schema, j.source_name) = (g.source_schema, g.source_name)
     where j.server = p_server and j.object = p_object
       and stripe_fdw._owner_of(stripe_fdw._rel(g.target_schema, g.target_name)) = g.target_owner
$$;

-- Only for the owner and the roles given grant_admin (it lists other roles' registrants).
revoke execute on function stripe_fdw._json_registrants(text, text) from public;

-- An event applied by a role that acts for none of the registrations taking what it changes from
-- account p_server, while other roles registered some, would be recorded and never applied by
-- anyone: an error instead (the function answers 500 and Stripe delivers again), as
-- handle_webhook does (_webhook_acts).
create function stripe_fdw._json_acts(p_server text, ev jsonb) returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
begin
    -- Every object the event changes (a function in SQL would check only the first).
    perform stripe_fdw._acts_for_any(stripe_fdw._json_registrants(p_server, x.object),
                                     pg_catalog.format('%s of account "%s"', x.object, p_server),
                                     'Connect the stripe-sync function (SUPABASE_DB_URL) as the role that registered them.')
       from (select distinct e.object from stripe_fdw._event_ids(ev ->> 'type', ev #> '{data,object}') e) x;
end
$$;

-- What event ev changes that account p_server's targets read: [{"object", "ids"}], parents first.
create function stripe_fdw._json_event_reads(p_server text, ev jsonb) returns jsonb
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('object', x.object, 'ids', pg_catalog.jsonb_build_array(x.id))
                                         order by x.ord), '[]')
      from stripe_fdw._event_ids(ev ->> 'type', ev #> '{data,object}') x
     where stripe_fdw._json_fed(p_server, x.object)
$$;

-- Verify a delivery and say what to read for it: {"server", "event", "type", "action": "duplicate"}
-- or {"server", "event", "type", "read": [{"object", "ids"}]}. Writes nothing, takes no lock.
create function stripe_fdw.webhook_receive(payload text, stripe_signature text, server text default null)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    v   record;
    res jsonb;
begin
    select x.server, x.ev into v from stripe_fdw._json_verify(webhook_receive.server, payload, stripe_signature) x;
    res := pg_catalog.jsonb_build_object('server', v.server, 'event', v.ev ->> 'id', 'type', v.ev ->> 'type');
    perform stripe_fdw._json_acts(v.server, v.ev);
    if exists (select from stripe_fdw.webhook_events w where w.id = v.ev ->> 'id') then
        return res || '{"action": "duplicate"}';
    end if;
    return res || pg_catalog.jsonb_build_object('read', stripe_fdw._json_event_reads(v.server, v.ev));
end
$$;

comment on function stripe_fdw.webhook_receive(text, text, text) is
    'Verify a Stripe webhook delivery in SQL (raw body, Stripe-Signature header; 28000 when refused) and say which objects to read from Stripe for it; then webhook_apply';

-- Apply a set of reads [{"object", "read_from", "read_to", "objects", "gone"}] (parents first) under the write
-- lock; {"rows", "skipped", "reasons"}, or raises 40001 with the read_again list as its detail
-- (so the caller's block undoes what it wrote).
create function stripe_fdw._json_write_reads(p_server text, p_reads jsonb,
                                             out n bigint, out unmapped bigint, out reasons text[])
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    rd jsonb;
    r  jsonb;
begin
    n := 0;
    unmapped := 0;
    reasons := '{}';
    if pg_catalog.jsonb_typeof(coalesce(p_reads, '[]')) <> 'array' then
        raise exception 'stripe_fdw: reads must be a JSON array of {"object", "read_from", "read_to", "objects", "gone"}' using errcode = '22023';
    end if;
    for rd in select x from pg_catalog.jsonb_array_elements(coalesce(p_reads, '[]')) x
               order by stripe_fdw._object_ord(x ->> 'object') loop
        r := stripe_fdw._json_write(p_server, rd ->> 'object', (rd ->> 'read_from')::bigint, (rd ->> 'read_to')::bigint,
                                    rd -> 'objects', array(select pg_catalog.jsonb_array_elements_text(coalesce(rd -> 'gone', '[]'))));
        if r ? 'read_again' then
            raise exception 'stripe_fdw: ids must be read again' using errcode = '40001', detail = (r -> 'read_again')::text;
        end if;
        n := n + coalesce((r ->> 'rows')::bigint, 0);
        unmapped := unmapped + coalesce((r ->> 'skipped')::bigint, 0);
        reasons := reasons || array(select pg_catalog.jsonb_array_elements_text(coalesce(r -> 'skip_reasons', '[]')));
    end loop;
end
$$;

-- The work of webhook_apply, search_path pinned.
create function stripe_fdw._webhook_apply(payload text, stripe_signature text, p_reads jsonb, p_server text)
returns jsonb
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v   record;
    w   record;
    dup jsonb;
    res jsonb;
    det text;
begin
    select x.server, x.ev into v from stripe_fdw._json_verify(p_server, payload, stripe_signature) x;
    dup := pg_catalog.jsonb_build_object('event', v.ev ->> 'id', 'type', v.ev ->> 'type', 'action', 'duplicate', 'rows', 0);
    perform stripe_fdw._json_acts(v.server, v.ev);
    perform stripe_fdw._write_lock();
    begin
        insert into stripe_fdw.webhook_events as e (id, type, created, action, via, server)
        values (v.ev ->> 'id', v.ev ->> 'type',
                coalesce(pg_catalog.to_timestamp((v.ev ->> 'created')::double precision), pg_catalog.now()),
                'received', 'webhook', v.server)
        on conflict (id) do nothing;
        if not found then
            return dup;
        end if;
        w := stripe_fdw._json_write_reads(v.server, p_reads);
    exception when serialization_failure then
        get stacked diagnostics det = pg_exception_detail;
        if not stripe_fdw._is_read_again(det) then
            raise;
        end if;
        return pg_catalog.jsonb_build_object('read_again', det::jsonb);
    end;
    update stripe_fdw.webhook_events e
       set action = case when pg_catalog.jsonb_array_length(coalesce(p_reads, '[]')) > 0 then 'applied' else 'ignored' end,
           rows = w.n
     where e.id = v.ev ->> 'id';
    perform stripe_fdw._webhook_prune();
    res := pg_catalog.jsonb_build_object('event', v.ev ->> 'id', 'type', v.ev ->> 'type',
                                         'action', case when pg_catalog.jsonb_array_length(coalesce(p_reads, '[]')) > 0 then 'applied' else 'ignored' end,
                                         'rows', w.n);
    if w.unmapped > 0 then
        res := res || pg_catalog.jsonb_build_object('skipped', w.unmapped, 'skip_reasons', pg_catalog.to_jsonb(w.reasons[1:5]));
    end if;
    return res;
end
$$;

-- Apply a verified delivery with what was read for it (webhook_receive said what): records the
-- event (a second delivery does nothing) and writes, never over a newer read. Answers as
-- handle_webhook, or {"read_again": [...]}: read those now and call again, in this transaction.
create function stripe_fdw.webhook_apply(payload text, stripe_signature text, reads jsonb, server text default null)
returns jsonb
language plpgsql
as $$
#variable_conflict use_column
declare
    saved text := stripe_fdw._enter();
    r     jsonb;
begin
    r := stripe_fdw._webhook_apply(payload, stripe_signature, reads, server);
    perform pg_catalog.set_config('search_path', saved, true);
    return r;
end
$$;

comment on function stripe_fdw.webhook_apply(text, text, jsonb, text) is
    'Record a verified Stripe delivery and apply the objects read for it ([{"object", "read_from", "read_to", "objects", "gone"}]); answers as handle_webhook, or read_again';
