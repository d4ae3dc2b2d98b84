//! The audit log: who did what, to which object, when and from where.

use super::{Email, Timestamp, UserId};

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The operator at the server's command line (`paygate user …`).
    Cli,
    /// A signed-in console user.
    User { id: UserId, email: Email },
    /// Nobody known: a login attempt naming no account.
    Anonymous,
}

/// What was done. The names are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    UserCreate,
    UserDisable,
    UserResetPassword,
    Login,
    LoginFailed,
    Logout,
    /// A console user refunded (part of) an order.
    OrderRefund,
    /// A console user closed an order.
    OrderClose,
    /// A console user asked the channel about an order.
    OrderQuery,
    /// A console user queued a notification for delivery again.
    NotificationResend,
    /// Every failed notification of a site queued for delivery again.
    NotificationResendFailed,
    SiteCreate,
    /// A site's name, notify URL, methods or private-target permission changed.
    SiteUpdate,
    SiteDisable,
    SiteEnable,
    /// A site's SK replaced.
    SiteRotateKey,
    /// The operator's fee on a site's orders set.
    SiteFee,
    /// A receiver set up for a site's orders' split plans, or renamed.
    SiteReceiverPut,
    /// A receiver of a site's split plans removed.
    SiteReceiverRemove,
    /// A platform site let combine orders for a member site (合单).
    SiteCombineAllow,
    /// A platform site's leave to combine orders for a member site taken back.
    SiteCombineRevoke,
    /// Another protocol (EPay, weidoufu, Jeepay) turned on for a site, with fresh keys.
    CompatEnable,
    /// A site's key for another protocol replaced.
    CompatRotate,
    /// Another protocol turned off for a site; its keys are gone.
    CompatDisable,
    /// An anomaly seen to by a person, with their note.
    AnomalyAcknowledge,
    /// A day of a channel's bill asked to be reconciled again.
    ReconciliationRequest,
}

impl AuditAction {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreate => "user.create",
            Self::UserDisable => "user.disable",
            Self::UserResetPassword => "user.reset_password",
            Self::Login => "login",
            Self::LoginFailed => "login.failed",
            Self::Logout => "logout",
            Self::OrderRefund => "order.refund",
            Self::OrderClose => "order.close",
            Self::OrderQuery => "order.query",
            Self::NotificationResend => "notification.resend",
            Self::NotificationResendFailed => "notification.resend_failed",
            Self::SiteCreate => "site.create",
            Self::SiteUpdate => "site.update",
            Self::SiteDisable => "site.disable",
            Self::SiteEnable => "site.enable",
            Self::SiteRotateKey => "site.rotate_key",
            Self::SiteFee => "site.fee",
            Self::SiteReceiverPut => "site.receiver_put",
            Self::SiteReceiverRemove => "site.receiver_remove",
            Self::SiteCombineAllow => "site.combine_allow",
            Self::SiteCombineRevoke => "site.combine_revoke",
            Self::CompatEnable => "compat.enable",
            Self::CompatRotate => "compat.rotate",
            Self::CompatDisable => "compat.disable",
            Self::AnomalyAcknowledge => "anomaly.acknowledge",
            Self::ReconciliationRequest => "reconciliation.request",
        }
    }
}

/// Who made a change and from which client address (a console user's, as `console::client` sees
/// it; none from the command line): what the audit entry of every change records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActedBy {
    pub actor: Actor,
    pub ip: Option<String>,
}

impl From<Actor> for ActedBy {
    /// An actor with no address: the command line on the server.
    fn from(actor: Actor) -> Self {
        Self { actor, ip: None }
    }
}

/// One line of the audit log, to be written together with the change it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: Actor,
    /// An [`AuditAction`] name.
    pub action: String,
    /// What the action was on (`user`, `site`, `order`…) and its id.
    pub object: Option<(String, String)>,
    pub ip: Option<String>,
    /// Free text for a person to read; never a secret.
    pub detail: String,
}

impl AuditEntry {
    #[must_use]
    pub fn new(at: Timestamp, actor: Actor, action: AuditAction) -> Self {
        Self {
            at,
            actor,
            action: action.as_str().to_owned(),
            object: None,
            ip: None,
            detail: String::new(),
        }
    }

    /// An entry of `action` done by `by` (its actor and address).
    #[must_use]
    pub fn by(at: Timestamp, by: &ActedBy, action: AuditAction) -> Self {
        Self::new(at, by.actor.clone(), action).from_ip(by.ip.as_deref())
    }

    #[must_use]
    pub fn on(mut self, kind: &str, id: &str) -> Self {
        self.object = Some((kind.to_owned(), id.to_owned()));
        self
    }

    #[must_use]
    pub fn from_ip(mut self, ip: Option<&str>) -> Self {
        self.ip = ip.map(str::to_owned);
        self
    }

    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}
