//! Stripe product and price objects (2026-10-28 shape) as served by the fake.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

fn product_object() -> String {
    "product".to_string()
}
fn price_object() -> String {
    "price".to_string()
}
fn default_true() -> bool {
    true
}
fn default_good() -> String {
    "good".to_string()
}
fn default_per_unit() -> String {
    "per_unit".to_string()
}
fn default_one_time() -> String {
    "one_time".to_string()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MarketingFeature {
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PackageDimensions {
    pub height: f64,
    pub length: f64,
    pub weight: f64,
    pub width: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaxDetails {
    pub performance_location: Option<String>,
    pub tax_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Product {
    pub id: String,
    #[serde(default = "product_object")]
    pub object: String,
    #[serde(default = "default_true")]
    pub active: bool,
    #[serde(default)]
    pub created: i64,
    #[serde(default)]
    pub default_price: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub livemode: bool,
    #[serde(default)]
    pub marketing_features: Vec<MarketingFeature>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub name: String,
    #[serde(default)]
    pub package_dimensions: Option<PackageDimensions>,
    #[serde(default)]
    pub shippable: Option<bool>,
    #[serde(default)]
    pub statement_descriptor: Option<String>,
    #[serde(default)]
    pub tax_code: Option<String>,
    #[serde(default)]
    pub tax_details: Option<TaxDetails>,
    #[serde(rename = "type", default = "default_good")]
    pub kind: String,
    #[serde(default)]
    pub unit_label: Option<String>,
    #[serde(default)]
    pub updated: i64,
    #[serde(default)]
    pub url: Option<String>,
}

impl Product {
    /// A product with Stripe's defaults for every optional field.
    pub fn new(id: String, name: String, created: i64) -> Product {
        Product {
            id,
            object: product_object(),
            active: true,
            created,
            default_price: None,
            description: None,
            images: Vec::new(),
            livemode: false,
            marketing_features: Vec::new(),
            metadata: BTreeMap::new(),
            name,
            package_dimensions: None,
            shippable: None,
            statement_descriptor: None,
            tax_code: None,
            tax_details: None,
            kind: default_good(),
            unit_label: None,
            updated: created,
            url: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CustomUnitAmount {
    pub maximum: Option<i64>,
    pub minimum: Option<i64>,
    pub preset: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Recurring {
    pub interval: String,
    pub interval_count: i64,
    #[serde(default)]
    pub meter: Option<String>,
    pub usage_type: String,
    #[serde(default)]
    pub trial_period_days: Option<i64>,
}

impl Recurring {
    pub fn new(interval: &str) -> Recurring {
        Recurring {
            interval: interval.to_string(),
            interval_count: 1,
            meter: None,
            usage_type: "licensed".to_string(),
            trial_period_days: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransformQuantity {
    pub divide_by: i64,
    pub round: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Price {
    pub id: String,
    #[serde(default = "price_object")]
    pub object: String,
    #[serde(default = "default_true")]
    pub active: bool,
    #[serde(default = "default_per_unit")]
    pub billing_scheme: String,
    #[serde(default)]
    pub created: i64,
    pub currency: String,
    #[serde(default)]
    pub custom_unit_amount: Option<CustomUnitAmount>,
    #[serde(default)]
    pub livemode: bool,
    #[serde(default)]
    pub lookup_key: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub nickname: Option<String>,
    pub product: String,
    #[serde(default)]
    pub recurring: Option<Recurring>,
    #[serde(default)]
    pub tax_behavior: Option<String>,
    #[serde(default)]
    pub tiers_mode: Option<String>,
    #[serde(default)]
    pub transform_quantity: Option<TransformQuantity>,
    #[serde(rename = "type", default = "default_one_time")]
    pub kind: String,
    #[serde(default)]
    pub unit_amount: Option<i64>,
    #[serde(default)]
    pub unit_amount_decimal: Option<String>,
}

impl Price {
    /// A per-unit price of `unit_amount` (one-time unless `recurring` is set).
    pub fn new(
        id: String,
        product: String,
        currency: &str,
        unit_amount: i64,
        recurring: Option<Recurring>,
        created: i64,
    ) -> Price {
        let kind = if recurring.is_some() {
            "recurring"
        } else {
            "one_time"
        };
        Price {
            id,
            object: price_object(),
            active: true,
            billing_scheme: default_per_unit(),
            created,
            currency: currency.to_string(),
            custom_unit_amount: None,
            livemode: false,
            lookup_key: None,
            metadata: BTreeMap::new(),
            nickname: None,
            product,
            recurring,
            tax_behavior: Some("unspecified".to_string()),
            tiers_mode: None,
            transform_quantity: None,
            kind: kind.to_string(),
            unit_amount: Some(unit_amount),
            unit_amount_decimal: Some(unit_amount.to_string()),
        }
    }
}

/// Anything kept in a [`crate::store::Table`].
pub trait Object {
    fn id(&self) -> &str;
    fn created(&self) -> i64;
}

impl Object for Product {
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> i64 {
        self.created
    }
}

impl Object for Price {
    fn id(&self) -> &str {
        &self.id
    }
    fn created(&self) -> i64 {
        self.created
    }
}
