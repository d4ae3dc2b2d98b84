//! Which mode paygate runs in, decided against what the database recorded when it was first
//! initialised. The rules fail closed: a sandbox database never meets channel credentials, a live
//! one never runs without them, and nothing becomes a sandbox by accident on PostgreSQL (the
//! production database) or on a database that already holds sites.
//!
//! [`decide`] is pure; [`establish`] reads and records through the store.

use crate::domain::{Mode, Timestamp};
use crate::store::{Backend, Store, StoreError};

/// What this start's settings ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// Channel credentials are configured.
    Live,
    /// None are; `explicit` when `--sandbox` (`sandbox = true`, `PAYGATE_SANDBOX`) says so.
    Sandbox { explicit: bool },
}

/// Who asks: `serve` must run in the recorded mode with matching settings; the operator's commands
/// (sites, notifications) only need to know the mode, and do not need channel credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Serve,
    Operate,
}

/// What the database and the request add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The database already records this mode.
    Keep(Mode),
    /// A database seen for the first time: record this mode, for good.
    Record(Mode),
}

impl Decision {
    #[must_use]
    pub fn mode(self) -> Mode {
        match self {
            Self::Keep(mode) | Self::Record(mode) => mode,
        }
    }
}

/// Why paygate refuses to start (or to run an operator command). Each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModeError {
    #[error(
        "this database was initialised in sandbox mode and can never take real payments, but \
         channel credentials are configured; for live mode use a new database (another \
         --database-url or --data-dir), or remove the [wechat]/[alipay] settings \
         (PAYGATE_WECHAT_*, PAYGATE_ALIPAY_*) to keep using this one as a sandbox"
    )]
    SandboxDatabaseWithCredentials,
    #[error(
        "this database is live, but no channel credentials are configured; check the \
         [wechat]/[alipay] settings (PAYGATE_WECHAT_*, PAYGATE_ALIPAY_*, --config). A live \
         database never runs in sandbox mode: for a sandbox, use another database"
    )]
    LiveDatabaseWithoutCredentials,
    #[error(
        "--sandbox (PAYGATE_SANDBOX) was given, but this database is live; a sandbox needs a \
         database of its own (another --database-url or --data-dir)"
    )]
    SandboxRequestedOnLiveDatabase,
    #[error(
        "no channel credentials are configured, and a PostgreSQL database runs in sandbox mode \
         only when asked: configure [wechat] or [alipay] (PAYGATE_WECHAT_*, PAYGATE_ALIPAY_*) for \
         live mode, or pass --sandbox (PAYGATE_SANDBOX=true) for a sandbox database"
    )]
    PostgresSandboxNotRequested,
    #[error(
        "this database holds sites but no record of being sandbox or live (it was used by an \
         older paygate, which chose by whether credentials were configured); say which it is, \
         once: `paygate migrate --mode live` (or --mode sandbox) with the same --data-dir / \
         --database-url"
    )]
    UnrecordedDatabaseWithSites,
    #[error("this database is already recorded as {recorded}; its mode never changes")]
    AlreadyRecorded { recorded: Mode },
}

/// The mode to run in, or why not. `has_sites` matters only for a database without a recorded
/// mode.
///
/// # Errors
/// See [`ModeError`].
pub fn decide(
    recorded: Option<Mode>,
    requested: Requested,
    backend: Backend,
    has_sites: bool,
    purpose: Purpose,
) -> Result<Decision, ModeError> {
    match (recorded, requested) {
        (Some(Mode::Live), Requested::Sandbox { explicit: true }) => {
            Err(ModeError::SandboxRequestedOnLiveDatabase)
        }
        // Operator commands read the recorded mode; they need no channel credentials.
        (Some(mode), _) if purpose == Purpose::Operate => Ok(Decision::Keep(mode)),
        (Some(Mode::Sandbox), Requested::Live) => Err(ModeError::SandboxDatabaseWithCredentials),
        (Some(Mode::Live), Requested::Sandbox { .. }) => {
            Err(ModeError::LiveDatabaseWithoutCredentials)
        }
        (Some(Mode::Live), Requested::Live) => Ok(Decision::Keep(Mode::Live)),
        (Some(Mode::Sandbox), Requested::Sandbox { explicit }) => {
            if backend == Backend::Postgres && !explicit {
                Err(ModeError::PostgresSandboxNotRequested)
            } else {
                Ok(Decision::Keep(Mode::Sandbox))
            }
        }
        // Sites without a recorded mode come from a paygate that switched to sandbox whenever
        // credentials were missing: their keys may be a sandbox's, printed at its start. Credentials
        // configured now do not tell which, so neither mode is assumed (see `record`).
        (None, _) if has_sites => Err(ModeError::UnrecordedDatabaseWithSites),
        (None, Requested::Live) => Ok(Decision::Record(Mode::Live)),
        (None, Requested::Sandbox { explicit: true }) => Ok(Decision::Record(Mode::Sandbox)),
        (None, Requested::Sandbox { explicit: false }) => match backend {
            Backend::Postgres => Err(ModeError::PostgresSandboxNotRequested),
            // The embedded default on a fresh data dir: the README's first command.
            Backend::Sqlite => Ok(Decision::Record(Mode::Sandbox)),
        },
    }
}

/// The operator's explicit statement (`paygate migrate --mode`): records `mode` on a database that
/// has none (with or without sites), and accepts it again on one that already records it.
///
/// # Errors
/// `AlreadyRecorded` when the database records the other mode; `Store`.
pub async fn record(store: &Store, mode: Mode) -> Result<Mode, EstablishError> {
    let recorded = store.record_mode(mode, Timestamp::now()).await?;
    if recorded == mode {
        Ok(mode)
    } else {
        Err(ModeError::AlreadyRecorded { recorded }.into())
    }
}

/// Either a refusal or a database failure.
#[derive(Debug, thiserror::Error)]
pub enum EstablishError {
    #[error(transparent)]
    Refused(#[from] ModeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads the database's mode, decides, and records it on a database seen for the first time.
///
/// # Errors
/// See [`EstablishError`].
pub async fn establish(
    store: &Store,
    requested: Requested,
    purpose: Purpose,
) -> Result<Mode, EstablishError> {
    let recorded = store.recorded_mode().await?;
    let has_sites = recorded.is_none() && store.has_sites().await?;
    match decide(recorded, requested, store.backend(), has_sites, purpose)? {
        Decision::Keep(mode) => Ok(mode),
        Decision::Record(mode) => {
            let now_recorded = store.record_mode(mode, Timestamp::now()).await?;
            // Another node initialised the same database a moment earlier: judge against its
            // choice, not ours.
            if now_recorded == mode {
                Ok(mode)
            } else {
                let decision = decide(
                    Some(now_recorded),
                    requested,
                    store.backend(),
                    false,
                    purpose,
                )?;
                Ok(decision.mode())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: Requested = Requested::Live;
    const IMPLICIT: Requested = Requested::Sandbox { explicit: false };
    const EXPLICIT: Requested = Requested::Sandbox { explicit: true };

    fn serve(
        recorded: Option<Mode>,
        requested: Requested,
        backend: Backend,
    ) -> Result<Decision, ModeError> {
        decide(recorded, requested, backend, false, Purpose::Serve)
    }

    #[test]
    fn a_fresh_sqlite_database_starts_as_a_sandbox_without_a_flag() {
        assert_eq!(
            serve(None, IMPLICIT, Backend::Sqlite),
            Ok(Decision::Record(Mode::Sandbox))
        );
        assert_eq!(
            serve(Some(Mode::Sandbox), IMPLICIT, Backend::Sqlite),
            Ok(Decision::Keep(Mode::Sandbox))
        );
    }

    #[test]
    fn postgres_is_a_sandbox_only_when_asked() {
        for recorded in [None, Some(Mode::Sandbox)] {
            assert_eq!(
                serve(recorded, IMPLICIT, Backend::Postgres),
                Err(ModeError::PostgresSandboxNotRequested)
            );
        }
        assert_eq!(
            serve(None, EXPLICIT, Backend::Postgres),
            Ok(Decision::Record(Mode::Sandbox))
        );
        assert_eq!(
            serve(Some(Mode::Sandbox), EXPLICIT, Backend::Postgres),
            Ok(Decision::Keep(Mode::Sandbox))
        );
    }

    #[test]
    fn credentials_make_a_fresh_database_live_for_good() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            assert_eq!(serve(None, LIVE, backend), Ok(Decision::Record(Mode::Live)));
            assert_eq!(
                serve(Some(Mode::Live), LIVE, backend),
                Ok(Decision::Keep(Mode::Live))
            );
        }
    }

    #[test]
    fn a_live_database_never_starts_without_credentials() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            assert_eq!(
                serve(Some(Mode::Live), IMPLICIT, backend),
                Err(ModeError::LiveDatabaseWithoutCredentials)
            );
            for purpose in [Purpose::Serve, Purpose::Operate] {
                assert_eq!(
                    decide(Some(Mode::Live), EXPLICIT, backend, false, purpose),
                    Err(ModeError::SandboxRequestedOnLiveDatabase)
                );
            }
        }
    }

    #[test]
    fn a_sandbox_database_never_meets_credentials() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            assert_eq!(
                serve(Some(Mode::Sandbox), LIVE, backend),
                Err(ModeError::SandboxDatabaseWithCredentials)
            );
        }
    }

    #[test]
    fn a_database_with_sites_but_no_mode_must_be_told_by_the_operator() {
        // An older paygate's sandbox restarted with credentials must not quietly become live with
        // the sandbox's printed keys: only `paygate migrate --mode` says what it is.
        for backend in [Backend::Sqlite, Backend::Postgres] {
            for requested in [LIVE, IMPLICIT, EXPLICIT] {
                for purpose in [Purpose::Serve, Purpose::Operate] {
                    assert_eq!(
                        decide(None, requested, backend, true, purpose),
                        Err(ModeError::UnrecordedDatabaseWithSites)
                    );
                }
            }
        }
    }

    #[test]
    fn operator_commands_read_the_recorded_mode_without_credentials() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            for (recorded, requested) in [
                (Mode::Live, IMPLICIT),
                (Mode::Sandbox, LIVE),
                (Mode::Sandbox, IMPLICIT),
            ] {
                assert_eq!(
                    decide(Some(recorded), requested, backend, false, Purpose::Operate),
                    Ok(Decision::Keep(recorded))
                );
            }
        }
        // A database nobody initialised yet follows the same rules as `serve`.
        assert_eq!(
            decide(None, IMPLICIT, Backend::Postgres, false, Purpose::Operate),
            Err(ModeError::PostgresSandboxNotRequested)
        );
    }
}
