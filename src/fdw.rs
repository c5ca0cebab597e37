//! The `ForeignDataWrapper` implementation: glue between supabase-wrappers and the stages in core.

use crate::error::FdwError;
use crate::hooks::{self, ExplainInfo};
use crate::pgopts::{table_columns, type_name};
use crate::scan::{Scan, Target};
use crate::{cells, quals, secrets, transport};
use pgrx::pg_sys::{self, Oid};
use pgrx::AllocatedByRust;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use stripe_fdw_core::client::retry::Policy;
use stripe_fdw_core::client::{Client, ClientConfig};
use stripe_fdw_core::objects;
use stripe_fdw_core::options::{validate, OptionError, Scope, ServerOptions, TableOptions};
use stripe_fdw_core::plan::{plan, Fetch, Plan};
use stripe_fdw_core::spec::ObjectSpec;
use supabase_wrappers::prelude::*;
use supabase_wrappers::FdwRoutine;

thread_local! {
    /// Row counts of complete unfiltered scans, by foreign table, for planner estimates.
    static SEEN_ROWS: RefCell<HashMap<u32, i64>> = RefCell::new(HashMap::new());
}

/// Used when nothing better is known: a typical small catalog.
const DEFAULT_ROWS: i64 = 1000;

/// Everything a scan needs to start (again, on rescan).
struct Setup {
    spec: &'static ObjectSpec,
    /// The quals; a parameter's value is read when the scan starts (it is known only then: an
    /// InitPlan's output is computed after BeginForeignScan).
    quals: Vec<Qual>,
    /// LIMIT/OFFSET, unless Postgres sorts the rows first (then it needs them all).
    limit: Option<(i64, i64)>,
    targets: Vec<Target>,
    cfg: ClientConfig,
    relid: u32,
}

#[wrappers_fdw(
    version = "0.1.0",
    author = "stripe_fdw developers",
    website = "https://github.com/stripe-fdw/stripe_fdw",
    error_type = "FdwError"
)]
pub struct StripeFdw {
    server: ForeignServer,
    opts: ServerOptions,
    explain: Option<Rc<ExplainInfo>>,
    /// What the last begin_scan set up, so a rescan can start over.
    setup: Option<Setup>,
    scan: Option<Scan>,
}

fn ftable_oid(options: &HashMap<String, String>) -> Result<Oid, FdwError> {
    options
        .get("wrappers.ftable_oid")
        .and_then(|s| s.parse::<u32>().ok())
        .map(Oid::from)
        .ok_or_else(|| FdwError::Internal("foreign table oid missing from scan options".into()))
}

/// The LIMIT/OFFSET that may shrink the first page: none when Postgres sorts the rows first, as it
/// then reads them all anyway (a small first page would only cost one more request).
fn page_limit(limit: &Option<Limit>, sorts: &[Sort]) -> Option<(i64, i64)> {
    match limit {
        Some(l) if sorts.is_empty() => Some((l.count, l.offset)),
        _ => None,
    }
}

fn unknown_column(table: String, column: String, spec: &ObjectSpec) -> FdwError {
    FdwError::UnknownColumn {
        table,
        column,
        object: spec.name,
        known: spec
            .columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Every declared column must be a column of the object, of a type that can hold it.
fn check_columns(relid: Oid, spec: &'static ObjectSpec) -> Result<(), FdwError> {
    let (table, cols) = table_columns(relid)?;
    for c in cols {
        let Some(cs) = spec.column(&c.name) else {
            return Err(unknown_column(table, c.name, spec));
        };
        if !cells::accepts(cs.ty, c.type_oid) {
            return Err(FdwError::ColumnType {
                table,
                column: c.name,
                declared: type_name(c.type_oid),
                expected: cs.ty.sql_name(),
            });
        }
    }
    Ok(())
}

fn estimate(p: &Plan, table: &TableOptions, relid: Oid) -> i64 {
    match &p.fetch {
        Fetch::Nothing => 1,
        Fetch::Retrieve(ids) => ids.len() as i64,
        Fetch::List(qs) if qs.iter().any(|q| !q.paged) => qs
            .iter()
            .map(|q| q.params.iter().filter(|(k, _)| k == "ids[]").count() as i64)
            .sum(),
        Fetch::List(qs) => {
            let all = table
                .estimated_rows
                .or_else(|| SEEN_ROWS.with(|m| m.borrow().get(&relid.to_u32()).copied()))
                .unwrap_or(DEFAULT_ROWS);
            let filtered = qs.first().is_some_and(|q| !q.params.is_empty());
            if filtered {
                (all / 10).max(1)
            } else {
                all.max(1)
            }
        }
    }
}

impl ForeignDataWrapper<FdwError> for StripeFdw {
    fn new(server: ForeignServer) -> Result<Self, FdwError> {
        let opts = ServerOptions::parse(&server.options)?;
        Ok(StripeFdw {
            server,
            opts,
            explain: None,
            setup: None,
            scan: None,
        })
    }

    fn get_rel_size(
        &mut self,
        quals: &[Qual],
        _columns: &[Column],
        sorts: &[Sort],
        limit: &Option<Limit>,
        options: &HashMap<String, String>,
    ) -> Result<(i64, i32), FdwError> {
        let table = TableOptions::parse(options)?;
        let relid = ftable_oid(options)?;
        check_columns(relid, table.object)?;
        let p = plan(
            table.object,
            &quals::to_conds(quals),
            page_limit(limit, sorts),
        );
        let info = Rc::new(ExplainInfo::default());
        let deferred = quals.iter().filter(|q| q.param.is_some()).count();
        let mut text = p.describe(table.object);
        if deferred > 0 {
            text.push_str(&format!(
                "; {deferred} condition(s) on parameters pushed when known"
            ));
        }
        *info.request.borrow_mut() = text;
        hooks::planned(info.clone());
        self.explain = Some(info);
        let width = 64 * table.object.columns.len().min(8) as i32;
        Ok((estimate(&p, &table, relid), width))
    }

    fn begin_scan(
        &mut self,
        quals: &[Qual],
        columns: &[Column],
        sorts: &[Sort],
        limit: &Option<Limit>,
        options: &HashMap<String, String>,
    ) -> Result<(), FdwError> {
        let table = TableOptions::parse(options)?;
        let spec = table.object;
        let relid = ftable_oid(options)?;
        let targets = columns
            .iter()
            .map(|c| {
                spec.column(&c.name)
                    .map(|cs| Target {
                        spec: cs,
                        oid: c.type_oid,
                    })
                    .ok_or_else(|| unknown_column(String::new(), c.name.clone(), spec))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let api_key = secrets::api_key(
            self.server.server_oid,
            &self.server.server_name,
            &self.opts.secret,
        )?;
        let cfg = ClientConfig {
            base_url: self.opts.api_url.clone(),
            api_key,
            api_version: self.opts.api_version.clone(),
            account: self.opts.account.clone(),
            connect_timeout: self.opts.connect_timeout,
            request_timeout: self.opts.request_timeout,
            policy: Policy::new(self.opts.max_retries, self.opts.retry_deadline),
            max_response_size: self.opts.max_response_size,
        };
        self.setup = Some(Setup {
            spec,
            quals: quals.to_vec(),
            limit: page_limit(limit, sorts),
            targets,
            cfg,
            relid: relid.to_u32(),
        });
        self.scan = None;
        Ok(())
    }

    fn iter_scan(&mut self, row: &mut Row) -> Result<Option<()>, FdwError> {
        if self.scan.is_none() {
            self.start()?;
        }
        let Some(scan) = self.scan.as_mut() else {
            return Ok(None);
        };
        let more = scan.next_row(row)?;
        if let Some(info) = &self.explain {
            info.requests.set(scan.requests);
        }
        if !more {
            if let (Some(s), true) = (&self.setup, scan.unfiltered()) {
                if scan.finished() {
                    let rows = scan.rows as i64;
                    SEEN_ROWS.with(|m| m.borrow_mut().insert(s.relid, rows));
                }
            }
        }
        Ok(more.then_some(()))
    }

    fn re_scan(&mut self) -> Result<(), FdwError> {
        // Start over at the next row, with the parameters' values at that time.
        self.scan = None;
        Ok(())
    }

    fn end_scan(&mut self) -> Result<(), FdwError> {
        self.scan = None;
        Ok(())
    }

    fn begin_modify(&mut self, _options: &HashMap<String, String>) -> Result<(), FdwError> {
        Err(FdwError::ReadOnly)
    }

    fn insert(&mut self, _row: &Row) -> Result<(), FdwError> {
        Err(FdwError::ReadOnly)
    }

    fn update(&mut self, _rowid: &Cell, _new_row: &Row) -> Result<(), FdwError> {
        Err(FdwError::ReadOnly)
    }

    fn delete(&mut self, _rowid: &Cell) -> Result<(), FdwError> {
        Err(FdwError::ReadOnly)
    }

    fn import_foreign_schema(
        &mut self,
        stmt: ImportForeignSchemaStmt,
    ) -> Result<Vec<String>, FdwError> {
        if stmt.remote_schema != "stripe" {
            return Err(FdwError::ImportSchema {
                message: format!("stripe_fdw has no remote schema \"{}\"", stmt.remote_schema),
                hint: "Use IMPORT FOREIGN SCHEMA stripe FROM SERVER ... INTO ...".into(),
            });
        }
        if let ImportSchemaType::FdwImportSchemaLimitTo | ImportSchemaType::FdwImportSchemaExcept =
            stmt.list_type
        {
            if let Some(unknown) = stmt.table_list.iter().find(|t| objects::find(t).is_none()) {
                return Err(FdwError::ImportSchema {
                    message: format!("stripe_fdw has no object \"{unknown}\" to import"),
                    hint: format!("Known objects are: {}.", objects::names().join(", ")),
                });
            }
        }
        Ok(objects::ALL
            .iter()
            .map(|o| o.create_table_sql(&stmt.local_schema, &stmt.server_name))
            .collect())
    }

    fn validator(options: Vec<Option<String>>, catalog: Option<Oid>) -> Result<(), FdwError> {
        let pairs: Vec<(String, String)> = options
            .into_iter()
            .flatten()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (kv, String::new()),
            })
            .collect();
        let scope = match catalog {
            Some(FOREIGN_DATA_WRAPPER_RELATION_ID) => Scope::Wrapper,
            Some(FOREIGN_SERVER_RELATION_ID) => Scope::Server,
            Some(FOREIGN_TABLE_RELATION_ID) => Scope::Table,
            Some(c) if c == pg_sys::UserMappingRelationId => Scope::UserMapping,
            Some(c) if c == pg_sys::AttributeRelationId => Scope::Column,
            _ => return Ok(()),
        };
        validate(scope, &pairs).map_err(|e: OptionError| e.into())
    }

    fn fdw_routine_hook(routine: &mut FdwRoutine<AllocatedByRust>) {
        hooks::install(routine);
    }
}

impl StripeFdw {
    /// Plan the requests with the parameters' current values and start the scan begin_scan set
    /// up. Nothing is fetched until the first row is asked for.
    fn start(&mut self) -> Result<(), FdwError> {
        let Some(s) = &self.setup else { return Ok(()) };
        let p = plan(s.spec, &quals::to_conds(&s.quals), s.limit);
        if let Some(info) = &self.explain {
            *info.request.borrow_mut() = p.describe(s.spec);
        }
        let transport = transport::get(s.cfg.connect_timeout)?;
        let client = Client::new(transport, s.cfg.clone())?;
        let targets = s
            .targets
            .iter()
            .map(|t| Target {
                spec: t.spec,
                oid: t.oid,
            })
            .collect();
        self.scan = Some(Scan::new(s.spec, client, &p, targets));
        Ok(())
    }
}
