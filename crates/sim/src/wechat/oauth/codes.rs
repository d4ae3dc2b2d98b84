//! Authorisation codes: issued by the authorize redirect, redeemed once by the token exchange,
//! good for five minutes (WeChat's rule). Kept in memory only: a code is in flight for seconds, and
//! a restarted simulator refusing it is what a merchant must handle anyway.

use std::collections::HashMap;
use std::sync::Mutex;

use super::SnsScope;

/// How long a code can be redeemed, in seconds.
pub const CODE_LIFETIME_SECS: i64 = 300;

/// What a code stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub appid: String,
    pub openid: String,
    pub scope: SnsScope,
}

/// Why a code cannot be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Never issued, expired, or issued for another appid (WeChat's 40029).
    Invalid,
    /// Redeemed before (WeChat's 40163).
    Used,
}

#[derive(Debug)]
struct Issued {
    grant: Grant,
    issued: i64,
    used: bool,
}

#[derive(Debug, Default)]
pub struct Codes {
    codes: Mutex<HashMap<String, Issued>>,
}

impl Codes {
    /// A new code for `grant`; codes past their life are dropped on the way.
    pub fn issue(&self, grant: Grant, now: i64) -> String {
        // WeChat's codes are 32 letters and digits.
        let code = channel_core::nonce::alphanumeric(32);
        let mut codes = self.lock();
        codes.retain(|_, c| !expired(c, now));
        codes.insert(
            code.clone(),
            Issued {
                grant,
                issued: now,
                used: false,
            },
        );
        code
    }

    /// Redeems `code` for `appid`, once. A refused attempt leaves the code as it was.
    pub fn redeem(&self, code: &str, appid: &str, now: i64) -> Result<Grant, Refused> {
        let mut codes = self.lock();
        let c = codes
            .get_mut(code)
            .filter(|c| !expired(c, now) && c.grant.appid == appid)
            .ok_or(Refused::Invalid)?;
        if c.used {
            return Err(Refused::Used);
        }
        c.used = true;
        Ok(c.grant.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Issued>> {
        self.codes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn expired(c: &Issued, now: i64) -> bool {
    now - c.issued >= CODE_LIFETIME_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(appid: &str) -> Grant {
        Grant {
            appid: appid.to_owned(),
            openid: "oUser".to_owned(),
            scope: SnsScope::Base,
        }
    }

    #[test]
    fn a_code_is_redeemed_once_by_its_own_appid() {
        let codes = Codes::default();
        let code = codes.issue(grant("wxA"), 1000);
        assert_eq!(code.len(), 32);
        assert_eq!(codes.redeem(&code, "wxB", 1001), Err(Refused::Invalid));
        assert_eq!(codes.redeem(&code, "wxA", 1001), Ok(grant("wxA")));
        assert_eq!(codes.redeem(&code, "wxA", 1002), Err(Refused::Used));
        assert_eq!(codes.redeem("nope", "wxA", 1002), Err(Refused::Invalid));
    }

    #[test]
    fn a_code_lives_five_minutes() {
        let codes = Codes::default();
        let late = codes.issue(grant("wxA"), 1000);
        let in_time = codes.issue(grant("wxA"), 1000);
        assert_eq!(
            codes.redeem(&in_time, "wxA", 1000 + CODE_LIFETIME_SECS - 1),
            Ok(grant("wxA"))
        );
        assert_eq!(
            codes.redeem(&late, "wxA", 1000 + CODE_LIFETIME_SECS),
            Err(Refused::Invalid)
        );
        // Issuing later sweeps the expired ones.
        codes.issue(grant("wxA"), 1000 + CODE_LIFETIME_SECS);
        assert_eq!(codes.lock().len(), 1);
    }
}
