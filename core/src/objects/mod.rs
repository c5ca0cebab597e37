//! The registry of Stripe objects stripe_fdw exposes; adding an object is one declaration (a file
//! here, listed in `ALL`), checked against Stripe's spec and fixtures by `spec_check.rs`.

mod accounts;
mod balance;
mod balance_transactions;
mod billing_meters;
mod charges;
mod checkout_sessions;
mod customers;
mod disputes;
mod events;
mod file_links;
mod files;
mod invoices;
mod mandates;
mod payment_intents;
mod payouts;
mod prices;
mod products;
mod refunds;
mod setup_attempts;
mod setup_intents;
mod subscription_items;
mod subscriptions;
mod tokens;
mod topups;
mod transfers;

#[cfg(test)]
#[path = "spec_check.rs"]
mod spec_check;

use crate::spec::ObjectSpec;

/// Every object, in `IMPORT FOREIGN SCHEMA` order: Supabase Wrappers' objects, then ours.
pub static ALL: &[&ObjectSpec] = &[
    &accounts::ACCOUNTS,
    &balance::BALANCE,
    &balance_transactions::BALANCE_TRANSACTIONS,
    &charges::CHARGES,
    &checkout_sessions::CHECKOUT_SESSIONS,
    &customers::CUSTOMERS,
    &disputes::DISPUTES,
    &events::EVENTS,
    &files::FILES,
    &file_links::FILE_LINKS,
    &invoices::INVOICES,
    &mandates::MANDATES,
    &billing_meters::BILLING_METERS,
    &payment_intents::PAYMENT_INTENTS,
    &payouts::PAYOUTS,
    &prices::PRICES,
    &products::PRODUCTS,
    &refunds::REFUNDS,
    &setup_attempts::SETUP_ATTEMPTS,
    &setup_intents::SETUP_INTENTS,
    &subscriptions::SUBSCRIPTIONS,
    &tokens::TOKENS,
    &topups::TOPUPS,
    &transfers::TRANSFERS,
    &subscription_items::SUBSCRIPTION_ITEMS,
];

/// Look an object up by its `object` option value.
pub fn find(name: &str) -> Option<&'static ObjectSpec> {
    ALL.iter().copied().find(|o| o.name == name)
}

/// Look an object up by the name of the table `IMPORT FOREIGN SCHEMA` gives it.
pub fn by_table(table: &str) -> Option<&'static ObjectSpec> {
    ALL.iter().copied().find(|o| o.table == table)
}

/// The known object names, for error messages.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|o| o.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Access, FilterKind, IdsStrategy};

    #[test]
    fn every_filter_and_column_name_is_a_declared_column() {
        for o in ALL {
            for f in o.filters {
                assert!(o.column(f.column).is_some(), "{}.{}", o.name, f.column);
            }
            if !matches!(o.access, Access::Single { .. }) {
                assert!(o.column("id").is_some(), "{}", o.name);
            }
            assert!(o.column("attrs").is_some());
            let mut names: Vec<_> = o.columns.iter().map(|c| c.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(
                names.len(),
                o.columns.len(),
                "duplicate column in {}",
                o.name
            );
        }
    }

    #[test]
    fn names_and_tables_are_unique_and_found() {
        let mut tables: Vec<_> = ALL.iter().map(|o| o.table).collect();
        tables.sort();
        tables.dedup();
        assert_eq!(tables.len(), ALL.len());
        for o in ALL {
            assert!(std::ptr::eq(find(o.name).expect("by name"), *o));
            assert!(std::ptr::eq(by_table(o.table).expect("by table"), *o));
        }
        assert_eq!(
            find("checkout/sessions").map(|o| o.table),
            Some("checkout_sessions")
        );
        assert!(
            find("checkout_sessions").is_none(),
            "the object option is Stripe's path"
        );
        assert!(find("plans").is_none());
    }

    #[test]
    fn a_required_parameter_is_a_text_filter_of_its_object() {
        for o in ALL {
            if let Access::List {
                required: Some(column),
            } = o.access
            {
                let f = o.filter(column).expect("filter of the required column");
                assert!(matches!(f.kind, FilterKind::TextEqEach(_)), "{}", o.name);
            }
            if o.access == Access::RetrieveOnly {
                assert_eq!(o.ids, IdsStrategy::Retrieve, "{}", o.name);
                assert!(o.filters.is_empty(), "{}: nothing to push but id", o.name);
            }
        }
    }
}
