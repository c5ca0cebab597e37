//! The `files` object: `GET /v1/files`.

use crate::spec::{Access, FilterKind::*, IdsStrategy, ObjectSpec};
use crate::{col, filter};

pub static FILES: ObjectSpec = ObjectSpec {
    name: "files",
    table: "files",
    endpoint: "files",
    object_type: "file",
    columns: &[
        col!("id", Text),
        col!("filename", Text),
        col!("purpose", Text),
        col!("title", Text),
        col!("size", Int8),
        col!("type", Text),
        col!("url", Text),
        col!("links", Jsonb),
        col!("created", Timestamptz),
        col!("expires_at", Timestamptz),
        col!("attrs", Jsonb, []),
    ],
    filters: &[
        filter!(
            "purpose",
            TextEnum(
                "purpose",
                &[
                    "account_requirement",
                    "additional_verification",
                    "business_icon",
                    "business_logo",
                    "customer_signature",
                    "dispute_evidence",
                    "document_provider_identity_document",
                    "finance_report_run",
                    "identity_document",
                    "identity_document_downloadable",
                    "pci_document",
                    "selfie",
                    "sigma_scheduled_query",
                    "tax_document_user_upload",
                    "terminal_reader_splashscreen"
                ]
            )
        ),
        filter!("created", Range("created")),
    ],
    ids: IdsStrategy::Retrieve,
    access: Access::List { required: None },
    defaults: &[],
};
