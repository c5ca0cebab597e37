//! The registry of Stripe objects stripe_fdw exposes; adding an object is adding a spec here.

mod events;
mod prices;
mod products;

#[cfg(test)]
use crate::spec::IdsStrategy;
use crate::spec::ObjectSpec;

/// Every object, in `IMPORT FOREIGN SCHEMA` order.
pub static ALL: &[&ObjectSpec] = &[&products::PRODUCTS, &prices::PRICES, &events::EVENTS];

/// Look an object up by its `object` option value.
pub fn find(name: &str) -> Option<&'static ObjectSpec> {
    ALL.iter().copied().find(|o| o.name == name)
}

/// The known object names, for error messages.
pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|o| o.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_and_column_name_is_a_declared_column() {
        for o in ALL {
            for f in o.filters {
                assert!(o.column(f.column).is_some(), "{}.{}", o.name, f.column);
            }
            assert!(o.column("id").is_some());
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
    fn find_knows_products_prices_and_events_only() {
        assert_eq!(find("products").map(|o| o.endpoint), Some("products"));
        assert_eq!(find("prices").map(|o| o.object_type), Some("price"));
        assert_eq!(find("events").map(|o| o.ids), Some(IdsStrategy::Retrieve));
        assert_eq!(names(), vec!["products", "prices", "events"]);
        assert!(find("customers").is_none());
    }
}
