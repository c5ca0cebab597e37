//! The `tokens` object: retrieve only (`GET /v1/tokens/{id}`); a query must give `id`.

use crate::col;
use crate::spec::{Access, IdsStrategy, ObjectSpec};

pub static TOKENS: ObjectSpec = ObjectSpec {
    name: "tokens",
    table: "tokens",
    endpoint: "tokens",
    object_type: "token",
    columns: &[
        col!("id", Text),
        col!("type", Text),
        col!("client_ip", Text),
        col!("used", Bool),
        col!("card", Jsonb),
        col!("bank_account", Jsonb),
        col!("livemode", Bool),
        col!("created", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[],
    ids: IdsStrategy::Retrieve,
    access: Access::RetrieveOnly,
    defaults: &[],
};
