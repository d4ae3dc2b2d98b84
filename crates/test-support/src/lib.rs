//! What paygate's tests and benchmark share, written once:
//!
//! - [`db`]: a throwaway database per test (a SQLite file in a temp dir, or a PostgreSQL database
//!   created and dropped), with raw reads and writes that bypass the code under test;
//! - [`process`]: a child process whose output is kept for failure messages;
//! - [`paygate`]: the `paygate` binary as tests run it (a clean environment, `serve` and `sim`
//!   started and their banners read);
//! - [`sim`]: the simulator in-process, and its state files read back;
//! - [`receiver`]: a site's notification endpoint that records every request and answers from a
//!   script;
//! - [`snippets`]: the README's verification snippets in `interop/`, run on a notification;
//! - [`wait`]: waiting for something observable, with a deadline.
//!
//! It does not depend on the gateway: what needs the gateway's types (opening a store, signing a
//! request) stays beside the tests that use it.

pub mod db;
pub mod paygate;
pub mod process;
pub mod receiver;
pub mod sim;
pub mod snippets;
pub mod wait;
