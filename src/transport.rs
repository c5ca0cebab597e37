//! The backend's HTTP transports, kept across queries so connections to Stripe are reused.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use stripe_fdw_core::client::Transport;
use stripe_fdw_core::StripeError;

thread_local! {
    static TRANSPORTS: RefCell<Vec<(Duration, Rc<Transport>)>> = const { RefCell::new(Vec::new()) };
}

/// The transport for a connect timeout (a client-wide setting in reqwest), made on first use.
pub fn get(connect_timeout: Duration) -> Result<Rc<Transport>, StripeError> {
    TRANSPORTS.with(|cell| {
        let mut all = cell.borrow_mut();
        if let Some((_, t)) = all.iter().find(|(d, _)| *d == connect_timeout) {
            return Ok(t.clone());
        }
        let t = Rc::new(Transport::new(connect_timeout)?);
        all.push((connect_timeout, t.clone()));
        Ok(t)
    })
}
