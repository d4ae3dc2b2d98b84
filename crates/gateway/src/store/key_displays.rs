//! A site's new SK waiting for the one console page that shows it (`key_displays`): kept by the
//! answer to the form that made it, taken — read and deleted at once — by the page the browser is
//! sent to next, on any node. Only the session that made it takes it, and only before it expires.

use crate::domain::{SecretKey, SessionToken, SiteId, Timestamp};

use super::{Store, StoreError, with_write};

/// What made the SK a page shows: a new site, or a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyShown {
    Created,
    Rotated,
}

impl KeyShown {
    fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Rotated => "rotated",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "created" => Some(Self::Created),
            "rotated" => Some(Self::Rotated),
            _ => None,
        }
    }
}

/// The sealed SK opens only for the session and site it was kept for: a row copied onto another
/// session does not open.
fn aad(session_hash: &str, site: &SiteId) -> Vec<u8> {
    format!("paygate/key-display/{session_hash}/{}", site.as_str()).into_bytes()
}

#[derive(sqlx::FromRow)]
struct DisplayRow {
    kind: String,
    secret_key_sealed: Vec<u8>,
    expires_at: i64,
}

impl Store {
    /// Keeps `sk` of site `site` for session `session` to take once until `expires_at`, in place
    /// of any the session still had for that site.
    ///
    /// # Errors
    /// `Database`, `Crypto`.
    pub async fn keep_key_display(
        &self,
        session: &SessionToken,
        site: &SiteId,
        kind: KeyShown,
        sk: &SecretKey,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let session_hash = session.hash();
        let sealed = self
            .secrets
            .seal(sk.expose().as_bytes(), &aad(&session_hash, site))?;
        let sql = "INSERT INTO key_displays (session_hash, site_id, kind, secret_key_sealed, \
                   expires_at) VALUES ($1, $2, $3, $4, $5) \
                   ON CONFLICT (session_hash, site_id) DO UPDATE SET kind = excluded.kind, \
                   secret_key_sealed = excluded.secret_key_sealed, expires_at = excluded.expires_at";
        with_write!(self, pool => sqlx::query(sql)
            .bind(&session_hash)
            .bind(site.as_str())
            .bind(kind.as_str())
            .bind(&sealed)
            .bind(expires_at.as_millis())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Takes the SK kept for `session` and `site`: it is deleted as it is read, so it is handed
    /// out at most once. `None` when there is none, or when it expired by `now` (deleted too).
    ///
    /// # Errors
    /// `Database`, `Crypto`, `Corrupt`.
    pub async fn take_key_display(
        &self,
        session: &SessionToken,
        site: &SiteId,
        now: Timestamp,
    ) -> Result<Option<(KeyShown, SecretKey)>, StoreError> {
        let session_hash = session.hash();
        let sql = "DELETE FROM key_displays WHERE session_hash = $1 AND site_id = $2 \
                   RETURNING kind, secret_key_sealed, expires_at";
        let row = with_write!(self, pool => sqlx::query_as::<_, DisplayRow>(sql)
            .bind(&session_hash)
            .bind(site.as_str())
            .fetch_optional(pool)
            .await)?;
        let Some(row) = row.filter(|r| r.expires_at > now.as_millis()) else {
            return Ok(None);
        };
        let corrupt = |detail: String| StoreError::corrupt("key display", detail);
        let kind =
            KeyShown::parse(&row.kind).ok_or_else(|| corrupt(format!("kind {}", row.kind)))?;
        let sk = self
            .secrets
            .open(&row.secret_key_sealed, &aad(&session_hash, site))?;
        let sk = String::from_utf8(sk).map_err(|_| corrupt("SK is not UTF-8".to_owned()))?;
        // The domain error names what is wrong with the text, never the text itself.
        let sk = SecretKey::parse(&sk).map_err(|e| corrupt(e.to_string()))?;
        Ok(Some((kind, sk)))
    }
}
