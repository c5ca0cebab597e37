-- stripe_fdw sources fed as JSON: the accounts and the tables that stand for Stripe objects where no
-- foreign table can read them (hosted Supabase, where the stripe-sync Edge Function reads Stripe and
-- hands the engine Stripe's JSON: sql/json_apply.sql). A sync target's source is a stripe_fdw
-- foreign table, or a table registered here; _source_info() tells either's server and object.
-- Needs sql/sync.sql (_rel, _sync_name, _is_stripe_table) and sql/objects.sql (create_object_tables).

-- A Stripe account read from outside the database, by the name every record uses for it (the
-- server of event_cursor, webhook_events and sync_status). The endpoint's signing secret(s) are
-- named, never stored here: Supabase Vault holds them, or, without Vault, account_secrets.
create table stripe_fdw.accounts (
    server              text primary key,
    webhook_secret_name text,       -- the secret's name in Vault (or in account_secrets)
    account             text,       -- acct_...: events of another account are refused (null: not checked)
    livemode            bool,       -- events of the other mode are refused (null: not checked)
    sync_requested_at   timestamptz,  -- request_sync(): the next worker run starts a full sync
    reconcile_every     interval not null default interval '1 day'
);
select pg_catalog.pg_extension_config_dump('stripe_fdw.accounts', '');

comment on table stripe_fdw.accounts is
    'stripe_fdw: the Stripe accounts an Edge Function reads for this database (hosted Supabase): their names, and where their webhook signing secrets are';

-- Signing secrets where there is no Vault. Readable by no role but the extension's owner.
create table stripe_fdw.account_secrets (
    name   text primary key,
    secret text not null
);
revoke all on stripe_fdw.account_secrets from public;

-- The tables that stand for a Stripe object of an account (names, as the sync registry keeps them,
-- so a dump and restore keeps them).
create table stripe_fdw.json_sources (
    source_schema text not null,
    source_name   text not null,
    server        text not null references stripe_fdw.accounts (server) on update cascade on delete cascade,
    object        text not null,
    primary key (source_schema, source_name)
);
select pg_catalog.pg_extension_config_dump('stripe_fdw.json_sources', '');

comment on table stripe_fdw.json_sources is
    'stripe_fdw: tables that stand for a Stripe object (hosted Supabase): a sync reads their row type, and the Edge Function hands over the rows as Stripe''s JSON';

-- The server (a foreign server's name, or an account's) and the Stripe object (the foreign
-- table's `object` option) a source stands for; no row for a relation that is neither.
create function stripe_fdw._source_info(rel regclass)
returns table (server text, object text, json bool)
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select fs.srvname::text,
           (select pg_catalog.substr(o, 8) from pg_catalog.unnest(ft.ftoptions) o where o like 'object=%' limit 1),
           false
      from pg_catalog.pg_foreign_table ft
      join pg_catalog.pg_foreign_server fs on fs.oid = ft.ftserver
     where ft.ftrelid = rel and stripe_fdw._is_stripe_table(rel)
    union all
    select j.server, j.object, true
      from stripe_fdw.json_sources j
     where stripe_fdw._rel(j.source_schema, j.source_name) = rel
$$;

-- Is rel a foreign table of Supabase Wrappers' Stripe wrapper (its handler is the wrappers
-- extension's stripe_fdw_handler)?
create function stripe_fdw._is_wrappers_table(rel regclass) returns bool
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select exists (
        select from pg_catalog.pg_foreign_table ft
          join pg_catalog.pg_foreign_server fs on fs.oid = ft.ftserver
          join pg_catalog.pg_foreign_data_wrapper w on w.oid = fs.srvfdw
         where ft.ftrelid = rel and w.fdwhandler = stripe_fdw._handler('wrappers'))
$$;

-- Can the database read Stripe through rel itself (a foreign table of this extension, or of
-- Supabase Wrappers)?
create function stripe_fdw._readable(rel regclass) returns bool
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select stripe_fdw._is_stripe_table(rel) or stripe_fdw._is_wrappers_table(rel)
$$;

-- Is rel a table registered as fed by JSON?
create function stripe_fdw._is_json_source(rel regclass) returns bool
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select exists (select from stripe_fdw.json_sources j where stripe_fdw._rel(j.source_schema, j.source_name) = rel)
$$;

-- The account named p_server: an error naming the fix when there is none.
create function stripe_fdw._account(p_server text) returns stripe_fdw.accounts
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    a stripe_fdw.accounts;
begin
    select * into a from stripe_fdw.accounts x where x.server = p_server;
    if not found then
        raise exception 'stripe_fdw: there is no account "%"', p_server
            using errcode = '42704',
                  hint = 'Create it first: select stripe_fdw.create_account(''' || pg_catalog.replace(coalesce(p_server, 'stripe'), '''', '''''') || ''');';
    end if;
    return a;
end
$$;

-- Name an account read from outside the database, and where its endpoint's signing secret is.
create function stripe_fdw.create_account(server text default 'stripe',
                                          webhook_secret_name text default 'stripe_webhook_secret',
                                          account text default null, livemode bool default null)
returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
begin
    if create_account.server is null or create_account.server = '' then
        raise exception 'stripe_fdw: an account needs a name' using errcode = '22023',
              hint = 'For example: select stripe_fdw.create_account(''stripe'');';
    end if;
    insert into stripe_fdw.accounts as a (server, webhook_secret_name, account, livemode)
    values (create_account.server, create_account.webhook_secret_name, create_account.account, create_account.livemode)
    on conflict on constraint accounts_pkey do update
       set webhook_secret_name = excluded.webhook_secret_name, account = excluded.account, livemode = excluded.livemode;
end
$$;

comment on function stripe_fdw.create_account(text, text, text, bool) is
    'Name a Stripe account that the stripe-sync Edge Function reads for this database, and the Vault secret holding its endpoint''s signing secret (hosted Supabase)';

-- Refuse objects the stripe-sync function does not read: those of no event the engine applies
-- (sql/webhooks.sql, _event_map): nothing would keep them.
create function stripe_fdw._json_objects_check(p_objects text[]) returns void
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    known text[] := array(select distinct m.object from stripe_fdw._event_map() m order by 1);
    bad   text[] := array(select coalesce(o, 'null') from pg_catalog.unnest(p_objects) o where o is null or not o = any (known));
begin
    if pg_catalog.cardinality(bad) > 0 then
        raise exception 'stripe_fdw: the stripe-sync function does not keep %', pg_catalog.array_to_string(bad, ', ')
            using errcode = '22023',
                  detail = 'It keeps: ' || pg_catalog.array_to_string(known, ', '),
                  hint = 'Read the others live through Supabase Wrappers'' tables.';
    end if;
end
$$;

-- Make the tables that stand for Stripe objects of account p_server (create_object_tables: the
-- foreign tables' columns) and register them as sources, for create_sync on hosted Supabase. Each
-- is also kept equal to Stripe, a sync target of itself: what `select * from stripe.products`
-- reads there (as of the worker's and the webhooks' last reads), where no foreign table can be.
create function stripe_fdw.create_sources(schema text default 'stripe',
                                          objects text[] default array['products', 'prices', 'customers', 'subscriptions'],
                                          server text default 'stripe')
returns setof regclass
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    rel regclass;
    n   record;
begin
    perform stripe_fdw._account(create_sources.server);
    perform stripe_fdw._json_objects_check(create_sources.objects);
    for rel in select t from stripe_fdw.create_object_tables(create_sources.schema, create_sources.objects) t loop
        n := stripe_fdw._sync_name(rel);
        insert into stripe_fdw.json_sources as j (source_schema, source_name, server, object)
        values (n.nsp, n.rel_name, create_sources.server,
                (select k.object from stripe_fdw._object_kinds() k where k.table_name = n.rel_name))
        on conflict (source_schema, source_name) do update set server = excluded.server, object = excluded.object;
        perform stripe_fdw.create_sync(rel, rel);
        return next rel;
    end loop;
end
$$;

comment on function stripe_fdw.create_sources(text, text[], text) is
    'Make one table per Stripe object in schema (the columns of the extension''s foreign tables) and register them as sources fed by the stripe-sync Edge Function (hosted Supabase): create_sync takes them as source';

-- Is there a Supabase Vault to trust: vault's view and schema owned by a superuser (as the
-- supabase_vault extension makes them)? A schema named vault that another role made could run
-- its own code with the rights of whoever reads "vault.decrypted_secrets".
create function stripe_fdw._vault() returns bool
language sql stable
set search_path = pg_catalog, pg_temp
as $$
    select exists (
        select from pg_catalog.pg_class c
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          join pg_catalog.pg_roles ro on ro.oid = c.relowner
          join pg_catalog.pg_roles so on so.oid = n.nspowner
         where c.oid = pg_catalog.to_regclass('vault.decrypted_secrets') and ro.rolsuper and so.rolsuper)
$$;

-- The webhook signing secrets of account p_server: the named secret from Supabase Vault when there
-- is one, else from account_secrets; several, separated by whitespace or commas (rotation).
create function stripe_fdw._webhook_secrets(p_server text) returns text[]
language plpgsql stable security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    a   stripe_fdw.accounts := stripe_fdw._account(p_server);
    val text;
begin
    if a.webhook_secret_name is null then
        raise exception 'stripe_fdw: account "%" names no webhook signing secret', p_server
            using errcode = 'HV00J',
                  hint = 'select stripe_fdw.create_account(''' || pg_catalog.replace(p_server, '''', '''''') || ''', ''<the Vault secret''''s name>'');';
    end if;
    if stripe_fdw._vault() then
        execute 'select s.decrypted_secret from vault.decrypted_secrets s where s.name operator(pg_catalog.=) $1 limit 1'
           into val using a.webhook_secret_name;
    end if;
    if val is null then
        select s.secret into val from stripe_fdw.account_secrets s where s.name = a.webhook_secret_name;
    end if;
    if val is null then
        raise exception 'stripe_fdw: the webhook signing secret "%" of account "%" is not there', a.webhook_secret_name, p_server
            using errcode = 'HV00J',
                  hint = 'Store the endpoint''s signing secret under that name: select vault.create_secret(''whsec_...'', '''
                         || pg_catalog.replace(a.webhook_secret_name, '''', '''''') || '''); or select stripe_fdw.set_webhook_secret(...).';
    end if;
    return array(select x from pg_catalog.regexp_split_to_table(pg_catalog.btrim(val), '[\s,]+') x where x <> '');
end
$$;

revoke execute on function stripe_fdw._webhook_secrets(text) from public;

-- Store the signing secret of account p_server's endpoint under its name: in Vault when there is
-- one (a new secret, or the named one updated), else in account_secrets.
create function stripe_fdw.set_webhook_secret(server text, secret text) returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    a  stripe_fdw.accounts := stripe_fdw._account(set_webhook_secret.server);
    id uuid;
begin
    if set_webhook_secret.secret is null or set_webhook_secret.secret not like 'whsec\_%' then
        raise exception 'stripe_fdw: a webhook signing secret starts with whsec_' using errcode = '22023',
              hint = 'Pass the secret Stripe shows for the endpoint (Developers > Webhooks > the endpoint > Signing secret).';
    end if;
    if a.webhook_secret_name is null then
        update stripe_fdw.accounts x set webhook_secret_name = 'stripe_webhook_secret_' || x.server where x.server = a.server
        returning x.webhook_secret_name into a.webhook_secret_name;
    end if;
    if stripe_fdw._vault() and pg_catalog.to_regclass('vault.secrets') is not null then
        execute 'select s.id from vault.secrets s where s.name operator(pg_catalog.=) $1' into id using a.webhook_secret_name;
        if id is null then
            execute 'select vault.create_secret($1, $2)' using set_webhook_secret.secret, a.webhook_secret_name;
        else
            execute 'select vault.update_secret($1, $2)' using id, set_webhook_secret.secret;
        end if;
        return;
    end if;
    insert into stripe_fdw.account_secrets as s (name, secret) values (a.webhook_secret_name, set_webhook_secret.secret)
    on conflict (name) do update set secret = excluded.secret;
end
$$;

revoke execute on function stripe_fdw.set_webhook_secret(text, text) from public;

-- Register an existing relation as a source of account server's object (the foreign table's
-- `object` option, else the table's name): Supabase Wrappers' Stripe foreign tables, for apps that
-- already have them. create_sync then maps from its columns or its attrs; the worker and the
-- webhook route feed it, and sync() reads it through Wrappers when no worker's read is at hand.
create function stripe_fdw.add_source(source regclass, server text default 'stripe') returns void
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
#variable_conflict use_column
declare
    n   record := stripe_fdw._sync_name(add_source.source);
    obj text;
begin
    perform stripe_fdw._account(add_source.server);
    select pg_catalog.substr(o, 8) into obj
      from pg_catalog.pg_foreign_table ft, pg_catalog.unnest(ft.ftoptions) o
     where ft.ftrelid = add_source.source and o like 'object=%';
    obj := coalesce(obj, (select k.object from stripe_fdw._object_kinds() k where k.table_name = n.rel_name));
    if obj is not null then
        perform stripe_fdw._json_objects_check(array[obj]);
    end if;
    if obj is null or not exists (select from stripe_fdw._object_kinds() k where k.object = obj) then
        raise exception 'stripe_fdw: which Stripe object % stands for is not known', add_source.source
            using errcode = '22023',
                  hint = 'Give the foreign table the option object (e.g. ''products''), as Supabase Wrappers'' tables have.';
    end if;
    if not stripe_fdw._has_column(add_source.source, 'id') then
        raise exception 'stripe_fdw: the source % has no id column', add_source.source using errcode = '42703';
    end if;
    insert into stripe_fdw.json_sources as j (source_schema, source_name, server, object)
    values (n.nsp, n.rel_name, add_source.server, obj)
    on conflict (source_schema, source_name) do update set server = excluded.server, object = excluded.object;
end
$$;

comment on function stripe_fdw.add_source(regclass, text) is
    'Register a relation (Supabase Wrappers'' Stripe foreign table) as a source of account server''s object, fed by the stripe-sync Edge Function';
