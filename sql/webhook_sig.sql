-- stripe_fdw webhook signatures in SQL: verify a Stripe-Signature header with pgcrypto, by the rules
-- and with the messages of the Rust verifier (core/src/webhook.rs), for builds without the .so.
--
-- Part of both the full extension and the SQL-only build (hosted Supabase): it needs nothing from
-- the .so. pgcrypto is not a dependency of the extension: it is found where it is installed
-- (Supabase puts it in schema `extensions`) and called by its schema-qualified names through dynamic
-- SQL (PostgreSQL 15 has no @extschema:pgcrypto@), so no search_path ever chooses the hmac used.
--
-- The header is `t=<unix>,v1=<hex>[,v1=<hex>...]`; each v1 is the hex HMAC-SHA256 of "<t>.<payload>"
-- keyed with the endpoint secret. One v1 matching one secret is enough; unknown schemes (v0) are
-- ignored; the signature is checked before the age, so "too old" always means a genuine but old
-- delivery; a timestamp in the future is accepted (as Stripe's libraries and the Rust verifier do).
-- Signatures are compared blinded: HMAC-SHA256 under a fresh random key of the expected and of the
-- given signature, never the hex strings, so the time taken says nothing about the expected bytes.
-- No message ever holds a secret or the expected signature.

-- The schema pgcrypto is installed in; SQLSTATE 0A000 when it is not.
create function stripe_fdw._pgcrypto_schema() returns text
language plpgsql stable
set search_path = pg_catalog, pg_temp
as $$
declare
    found text;
begin
    select n.nspname into found
      from pg_catalog.pg_extension e
      join pg_catalog.pg_namespace n on n.oid operator(pg_catalog.=) e.extnamespace
     where e.extname operator(pg_catalog.=) 'pgcrypto';
    if found is null then
        raise exception using
            errcode = '0A000',
            message = 'stripe_fdw: verifying a webhook signature in SQL needs the extension pgcrypto, which is not installed in this database',
            hint = 'create extension pgcrypto (on Supabase: create extension pgcrypto with schema extensions)';
    end if;
    return found;
end
$$;

comment on function stripe_fdw._pgcrypto_schema() is
    'The schema the pgcrypto extension is installed in (error 0A000 when it is not)';

-- Verify `stripe_signature` (the request's Stripe-Signature header) for the raw `payload` with any of
-- `secrets` (each element one whsec_... or several separated by commas, newest first; blanks are
-- skipped), signed at most `tolerance` seconds ago (0 or less: no age check; null: 300). Returns the
-- header's timestamp t. A refusal is SQLSTATE 28000 saying which check failed; no secret at all is
-- HV00J.
create function stripe_fdw._verify_signature(
    payload text,
    stripe_signature text,
    secrets text[],
    tolerance int default 300
) returns bigint
language plpgsql volatile
set search_path = pg_catalog, pg_temp
as $$
declare
    refused constant text := 'stripe_fdw: webhook refused: ';
    malformed constant text := 'stripe_fdw: webhook refused: the Stripe-Signature header is malformed: ';
    pass_raw constant text := 'Pass the raw request body and its Stripe-Signature header unchanged (read the body as text, not parsed JSON).';
    crypto text := stripe_fdw._pgcrypto_schema();
    ws text;          -- what Rust's str::trim removes: Unicode White_Space
    keys bytea[];
    item text;
    eq int;
    k text;
    v text;
    t bigint;
    sigs bytea[] := '{}';
    matched bool;
    age bigint;
    tol int := coalesce(tolerance, 300);
begin
    select pg_catalog.string_agg(pg_catalog.chr(c), '')
      into ws
      from pg_catalog.unnest(array[9, 10, 11, 12, 13, 32, 133, 160, 5760, 8192, 8193, 8194, 8195,
                                   8196, 8197, 8198, 8199, 8200, 8201, 8202, 8232, 8233, 8239,
                                   8287, 12288]) as c
     where c operator(pg_catalog.<) 128
        or pg_catalog.getdatabaseencoding() operator(pg_catalog.=) 'UTF8';

    -- The secrets, as bytes (UTF-8, as Stripe keys its HMAC).
    select pg_catalog.array_agg(pg_catalog.convert_to(pg_catalog.btrim(part, ws), 'UTF8'))
      into keys
      from pg_catalog.unnest(_verify_signature.secrets) as one(whole),
           pg_catalog.unnest(pg_catalog.string_to_array(one.whole, ',')) as p(part)
     where pg_catalog.btrim(part, ws) operator(pg_catalog.<>) '';
    if keys is null then
        raise exception using
            errcode = 'HV00J',
            message = 'stripe_fdw: no webhook secret to verify the signature with',
            hint = 'Give the endpoint''s signing secret (whsec_..., shown when you add the endpoint in Stripe).';
    end if;

    if stripe_signature is null or pg_catalog.btrim(stripe_signature, ws) operator(pg_catalog.=) '' then
        raise exception using
            errcode = '28000',
            message = refused operator(pg_catalog.||) 'the Stripe-Signature header is missing: pass the request''s Stripe-Signature header unchanged',
            hint = pass_raw;
    end if;

    -- Parse, element by element, failing on the first bad one as the Rust parser does.
    foreach item in array pg_catalog.string_to_array(stripe_signature, ',') loop
        item := pg_catalog.btrim(item, ws);
        continue when item operator(pg_catalog.=) '';
        eq := pg_catalog.strpos(item, '=');
        if eq operator(pg_catalog.=) 0 then
            raise exception using errcode = '28000', hint = pass_raw,
                message = malformed operator(pg_catalog.||) 'an element is not key=value';
        end if;
        k := pg_catalog.btrim(pg_catalog.substr(item, 1, eq operator(pg_catalog.-) 1), ws);
        v := pg_catalog.btrim(pg_catalog.substr(item, eq operator(pg_catalog.+) 1), ws);
        if k operator(pg_catalog.=) 't' then
            if t is not null then
                raise exception using errcode = '28000', hint = pass_raw,
                    message = malformed operator(pg_catalog.||) 't= appears more than once';
            end if;
            -- ASCII digits only, and within bigint (Rust's i64).
            if v operator(pg_catalog.!~) '^[0-9]+$'
               or pg_catalog.length(pg_catalog.ltrim(v, '0')) operator(pg_catalog.>) 19
               or v::numeric operator(pg_catalog.>) 9223372036854775807::numeric then
                raise exception using errcode = '28000', hint = pass_raw,
                    message = malformed operator(pg_catalog.||) 't= is not a Unix timestamp';
            end if;
            t := v::bigint;
        elsif k operator(pg_catalog.=) 'v1' then
            -- Pairs of hex digits of either case (PostgreSQL's decode would also skip whitespace).
            if v operator(pg_catalog.!~) '^([0-9a-fA-F][0-9a-fA-F])*$' then
                raise exception using errcode = '28000', hint = pass_raw,
                    message = malformed operator(pg_catalog.||) 'a v1= signature is not hex';
            end if;
            sigs := pg_catalog.array_append(sigs, pg_catalog.decode(v, 'hex'));
        end if;  -- v0 and future schemes
    end loop;
    if t is null then
        raise exception using errcode = '28000', hint = pass_raw,
            message = malformed operator(pg_catalog.||) 'it has no t= timestamp';
    end if;
    if pg_catalog.cardinality(sigs) operator(pg_catalog.=) 0 then
        raise exception using errcode = '28000', hint = pass_raw,
            message = malformed operator(pg_catalog.||) 'it has no v1= signature';
    end if;

    -- Every (secret, v1) pair is compared, each side blinded by an HMAC under one fresh random key.
    execute pg_catalog.format(
        $q$with blind as materialized (select %1$I.gen_random_bytes(32) as key)
           select pg_catalog.bool_or(
                      %1$I.hmac(%1$I.hmac($1, s.secret, 'sha256'), blind.key, 'sha256')
                      operator(pg_catalog.=) %1$I.hmac(g.sig, blind.key, 'sha256'))
             from blind, pg_catalog.unnest($2) as s(secret), pg_catalog.unnest($3) as g(sig)$q$,
        crypto)
      into matched
      using pg_catalog.convert_to(t::text operator(pg_catalog.||) '.' operator(pg_catalog.||) payload, 'UTF8'),
            keys, sigs;
    if matched is not true then
        raise exception using
            errcode = '28000',
            message = refused operator(pg_catalog.||) 'no signature matches: the payload was changed, or it was signed with another endpoint secret (check webhook_secret)',
            hint = 'Check that the webhook secret is this endpoint''s signing secret (whsec_...), and that the body is passed byte for byte.';
    end if;

    age := pg_catalog.floor(extract(epoch from pg_catalog.clock_timestamp()))::bigint operator(pg_catalog.-) t;
    if tol operator(pg_catalog.>) 0 and age operator(pg_catalog.>) tol then
        raise exception using
            errcode = '28000',
            message = pg_catalog.format('%sthe signature is %s s old, more than the tolerance of %s s (a replayed delivery, or a wrong clock)',
                                        refused, age, tol),
            hint = 'Stripe signs each delivery when it sends it: check the database clock, or raise the tolerance.';
    end if;
    return t;
end
$$;

comment on function stripe_fdw._verify_signature(text, text, text[], int) is
    'Verify a Stripe-Signature header for the raw payload with pgcrypto (the Rust verifier''s rules); returns its timestamp, or fails with 28000';
