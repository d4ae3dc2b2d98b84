//! The console's pages, one file each: sign-in and sign-out (`login`), the dashboard with its
//! chart (`dashboard`, `chart`), the order search (`orders`), an order (`order`), the actions on
//! an order with their confirmation step (`actions`), the notifications and anomalies that need
//! a person (`notifications`, `anomalies`), the days' reconciliation and one day's report
//! (`reconciliation`, `reconciliation_day`), a site's statement as a file (`statement`), and the
//! audit log (`audit`).

pub(super) mod actions;
pub(super) mod anomalies;
pub(super) mod audit;
mod chart;
mod confirm;
pub(super) mod dashboard;
pub(super) mod login;
pub(super) mod notifications;
pub(super) mod order;
pub(super) mod orders;
pub(super) mod reconciliation;
pub(super) mod reconciliation_day;
pub(super) mod site;
pub(super) mod site_protocols;
pub(super) mod sites;
pub(super) mod statement;
pub(super) mod users;
