//! Helpers shared by the test binaries: throwaway databases (`db`) and a running paygate (`app`).
//! Each binary uses a part of them, hence `dead_code` is allowed where they are declared.

pub mod app;
pub mod db;

pub use db::*;
