//! Which of a relation's conditions Stripe computes exactly as Postgres would, by postgres_fdw's
//! rules: a built-in operator on built-in types, a deterministic collation, the foreign table's
//! column on one side (the operator commuted when it is on the right) and, on the other, a value
//! known when the scan starts (a constant, a parameter, or a stable expression over those). Everything else is left to Postgres, which re-checks every condition.

use crate::plandata::CondData;
use pgrx::pg_sys::{self, Oid};
use pgrx::{is_a, PgList};
use std::ffi::CStr;
use stripe_fdw_core::plan::Op;
use stripe_fdw_core::spec::ObjectSpec;

/// A condition Stripe may take: `column op value`, or `column = ANY(value)` when `array`.
pub struct Pushable {
    /// The condition as the plan keeps it (src/plandata.rs): the one plan-time form.
    pub cond: CondData,
    /// A `Const`, a `Param` or a stable expression of them; evaluated when the scan starts (the
    /// plan's `fdw_exprs`).
    pub value: *mut pg_sys::Node,
}

impl Pushable {
    fn new(column: String, op: Op, value: *mut pg_sys::Node, array: bool) -> Pushable {
        Pushable {
            cond: CondData {
                column,
                op,
                array,
                filtered: false,
            },
            value,
        }
    }
}

/// The pushable conditions among `clauses` (a list of `RestrictInfo`), and whether every clause is
/// one of them (then no condition is left for Postgres alone, and LIMIT may shrink a page).
///
/// # Safety
/// `clauses` is a `RestrictInfo` list of the relation `relid` (range-table index) whose column
/// names, by attribute number, are `columns` (index 0 is attribute 1).
pub unsafe fn classify(
    clauses: *mut pg_sys::List,
    relid: pg_sys::Index,
    columns: &[Option<String>],
    spec: &ObjectSpec,
) -> (Vec<Pushable>, bool) {
    let mut out = Vec::new();
    let mut all = true;
    let list = unsafe { PgList::<pg_sys::RestrictInfo>::from_pg(clauses) };
    for rinfo in list.iter_ptr() {
        if rinfo.is_null() {
            all = false;
            continue;
        }
        let clause = unsafe { (*rinfo).clause } as *mut pg_sys::Node;
        match unsafe { pushable(clause, relid, columns) } {
            Some(mut p) => {
                p.cond.filtered = has_filter(spec, &p.cond.column, p.cond.op, p.cond.array);
                all &= p.cond.filtered;
                out.push(p);
            }
            None => all = false,
        }
    }
    (out, all)
}

/// Does the planner turn this condition into a request parameter (or a retrieve)?
fn has_filter(spec: &ObjectSpec, column: &str, op: Op, array: bool) -> bool {
    use stripe_fdw_core::spec::{Access, FilterKind::*, IdsStrategy};
    if column == "id" {
        let retrievable =
            spec.ids != IdsStrategy::Unsupported && !matches!(spec.access, Access::Single { .. });
        return op == Op::Eq && retrievable;
    }
    spec.filters
        .iter()
        .filter(|f| f.column == column)
        .any(|f| match f.kind {
            TextEq(_) | TextEnum(..) | BoolEq(_) => op == Op::Eq && !array,
            ArrayIn { .. } | TextEqEach(_) => op == Op::Eq,
            Range(_) => !array && op != Op::Like,
            // `=`, `IN` (as types[]) and `LIKE 'prefix.%'` (as a wildcard).
            EventType { .. } => op == Op::Eq || (op == Op::Like && !array),
        })
}

/// The node under binary-compatible casts (`varchar` read as `text`).
unsafe fn strip(mut node: *mut pg_sys::Node) -> *mut pg_sys::Node {
    unsafe {
        while !node.is_null() && is_a(node, pg_sys::NodeTag::T_RelabelType) {
            node = (*(node as *mut pg_sys::RelabelType)).arg as *mut pg_sys::Node;
        }
        node
    }
}

/// The column name when `node` is a column of the scanned relation.
unsafe fn own_column(
    node: *mut pg_sys::Node,
    relid: pg_sys::Index,
    columns: &[Option<String>],
) -> Option<String> {
    unsafe {
        let node = strip(node);
        if node.is_null() || !is_a(node, pg_sys::NodeTag::T_Var) {
            return None;
        }
        let v = node as *mut pg_sys::Var;
        if (*v).varno as pg_sys::Index != relid || (*v).varlevelsup != 0 || (*v).varattno < 1 {
            return None;
        }
        columns.get((*v).varattno as usize - 1)?.clone()
    }
}

/// A value known when the scan starts: a constant, a parameter, or an expression over those with
/// no column of any relation, no volatile function and no subquery (evaluated once per scan, as
/// Postgres evaluates an index scan's keys).
unsafe fn value_node(node: *mut pg_sys::Node) -> Option<*mut pg_sys::Node> {
    unsafe {
        let node = strip(node);
        if node.is_null() {
            return None;
        }
        if is_a(node, pg_sys::NodeTag::T_Const) {
            return (!(*(node as *mut pg_sys::Const)).constisnull).then_some(node);
        }
        if is_a(node, pg_sys::NodeTag::T_Param) {
            let kind = (*(node as *mut pg_sys::Param)).paramkind;
            return matches!(
                kind,
                pg_sys::ParamKind::PARAM_EXTERN | pg_sys::ParamKind::PARAM_EXEC
            )
            .then_some(node);
        }
        let runtime_constant = !pg_sys::contain_var_clause(node)
            && !pg_sys::contain_volatile_functions(node)
            && !pg_sys::contain_subplans(node)
            && !pg_sys::contain_agg_clause(node)
            && !pg_sys::contain_window_function(node);
        runtime_constant.then_some(node)
    }
}

/// A collation Stripe's byte-wise comparison agrees with.
unsafe fn deterministic(collation: Oid) -> bool {
    collation == pg_sys::InvalidOid || unsafe { pg_sys::get_collation_isdeterministic(collation) }
}

/// A built-in operator's name and input types; None for any operator a user could have defined.
unsafe fn builtin_operator(opno: Oid) -> Option<(String, Oid, Oid)> {
    if opno.to_u32() >= pg_sys::FirstGenbkiObjectId {
        return None;
    }
    unsafe {
        let name = pg_sys::get_opname(opno);
        if name.is_null() {
            return None;
        }
        let name = CStr::from_ptr(name).to_string_lossy().into_owned();
        let (mut left, mut right) = (pg_sys::InvalidOid, pg_sys::InvalidOid);
        pg_sys::op_input_types(opno, &mut left, &mut right);
        Some((name, left, right))
    }
}

/// The planner operator for a built-in operator with the column on the left, if Stripe has it.
fn stripe_op(name: &str, left: Oid, right: Oid) -> Option<Op> {
    if left != right {
        return None;
    }
    let ordered = left == pg_sys::TIMESTAMPTZOID || left == pg_sys::TIMESTAMPOID;
    match name {
        "=" if ordered || left == pg_sys::TEXTOID || left == pg_sys::BOOLOID => Some(Op::Eq),
        "<" if ordered => Some(Op::Lt),
        "<=" if ordered => Some(Op::Le),
        ">" if ordered => Some(Op::Gt),
        ">=" if ordered => Some(Op::Ge),
        "~~" if left == pg_sys::TEXTOID => Some(Op::Like),
        _ => None,
    }
}

/// `a op b` read as `b op' a`.
fn commute(op: Op) -> Option<Op> {
    Some(match op {
        Op::Eq => Op::Eq,
        Op::Lt => Op::Gt,
        Op::Le => Op::Ge,
        Op::Gt => Op::Lt,
        Op::Ge => Op::Le,
        // `'pattern' LIKE column` is not `column LIKE 'pattern'`.
        Op::Like => return None,
    })
}

unsafe fn pushable(
    clause: *mut pg_sys::Node,
    relid: pg_sys::Index,
    columns: &[Option<String>],
) -> Option<Pushable> {
    unsafe {
        if clause.is_null() {
            return None;
        }
        let bool_column = |node: *mut pg_sys::Node, value: bool| {
            let stripped = strip(node);
            if stripped.is_null()
                || !is_a(stripped, pg_sys::NodeTag::T_Var)
                || (*(stripped as *mut pg_sys::Var)).vartype != pg_sys::BOOLOID
            {
                return None;
            }
            let column = own_column(stripped, relid, columns)?;
            let konst = pg_sys::makeBoolConst(value, false);
            Some(Pushable::new(column, Op::Eq, konst, false))
        };
        if is_a(clause, pg_sys::NodeTag::T_Var) {
            return bool_column(clause, true);
        }
        if is_a(clause, pg_sys::NodeTag::T_BoolExpr) {
            let b = clause as *mut pg_sys::BoolExpr;
            let args = PgList::<pg_sys::Node>::from_pg((*b).args);
            if (*b).boolop != pg_sys::BoolExprType::NOT_EXPR || args.len() != 1 {
                return None;
            }
            return bool_column(args.get_ptr(0)?, false);
        }
        if is_a(clause, pg_sys::NodeTag::T_OpExpr) {
            let e = clause as *mut pg_sys::OpExpr;
            let args = PgList::<pg_sys::Node>::from_pg((*e).args);
            if args.len() != 2 || !deterministic((*e).inputcollid) {
                return None;
            }
            let (name, left, right) = builtin_operator((*e).opno)?;
            let op = stripe_op(&name, left, right)?;
            let (l, r) = (args.get_ptr(0)?, args.get_ptr(1)?);
            if let (Some(column), Some(value)) = (own_column(l, relid, columns), value_node(r)) {
                return Some(Pushable::new(column, op, value, false));
            }
            if let (Some(value), Some(column)) = (value_node(l), own_column(r, relid, columns)) {
                return Some(Pushable::new(column, commute(op)?, value, false));
            }
            return None;
        }
        if is_a(clause, pg_sys::NodeTag::T_ScalarArrayOpExpr) {
            let e = clause as *mut pg_sys::ScalarArrayOpExpr;
            let args = PgList::<pg_sys::Node>::from_pg((*e).args);
            if !(*e).useOr || args.len() != 2 || !deterministic((*e).inputcollid) {
                return None;
            }
            let (name, left, right) = builtin_operator((*e).opno)?;
            if stripe_op(&name, left, right)? != Op::Eq || left != pg_sys::TEXTOID {
                return None;
            }
            let column = own_column(args.get_ptr(0)?, relid, columns)?;
            let value = value_node(args.get_ptr(1)?)?;
            return Some(Pushable::new(column, Op::Eq, value, true));
        }
        None
    }
}
