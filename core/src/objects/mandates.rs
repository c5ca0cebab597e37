//! The `mandates` object: retrieve only (`GET /v1/mandates/{id}`); a query must give `id`.

use crate::col;
use crate::spec::{Access, IdsStrategy, ObjectSpec};

pub static MANDATES: ObjectSpec = ObjectSpec {
    name: "mandates",
    table: "mandates",
    endpoint: "mandates",
    object_type: "mandate",
    columns: &[
        col!("id", Text),
        col!("payment_method", Text),
        col!("status", Text),
        col!("type", Text),
        col!("customer_acceptance", Jsonb),
        col!("payment_method_details", Jsonb),
        col!("livemode", Bool),
        col!("attrs", Jsonb, []),
    ],
    filters: &[],
    ids: IdsStrategy::Retrieve,
    access: Access::RetrieveOnly,
    defaults: &[],
};
