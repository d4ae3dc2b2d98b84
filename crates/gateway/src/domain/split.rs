//! Profit sharing (分账): a site splits part of a paid order's money to receivers it names.
//!
//! A split reserves its amount against the order when it is stored, before any channel hears of
//! it, in the same place as refunds: the splits and refunds of an order that are not `failed`
//! never add up to more than was paid. WeChat Pay also bounds what a merchant may split away
//! (30% of the payment for a direct merchant); that bound is part of the same reservation.

use super::text::refuse_invisible;
use super::token::{is_token, random_with_prefix};

use super::{
    Amount, Channel, DomainError, Fingerprint, Order, OrderId, PlannedSplit, SiteId, SplitPurpose,
    Timestamp,
};

/// The site's own split number: 1–64 characters of `[A-Za-z0-9_-]`, not starting with `pg-`
/// (the numbers of the splits paygate makes itself). Unique per site.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutSplitNo(String);

impl OutSplitNo {
    pub const MAX_LEN: usize = 64;
    /// How the numbers of paygate's own splits of an order start.
    pub const RESERVED_PREFIX: &'static str = "pg-";

    /// A site's number.
    ///
    /// # Errors
    /// `Missing` when empty, `Malformed` when too long, a character is not allowed, or it starts
    /// with [`OutSplitNo::RESERVED_PREFIX`].
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::Missing {
                field: "out_split_no",
            });
        }
        if !is_token(s, 1, Self::MAX_LEN) || s.starts_with(Self::RESERVED_PREFIX) {
            return Err(DomainError::Malformed {
                field: "out_split_no",
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// A number as stored, whoever chose it (a site's, or paygate's own `pg-…`).
    ///
    /// # Errors
    /// `Malformed` unless 1–64 characters of `[A-Za-z0-9_-]`.
    pub fn stored(s: &str) -> Result<Self, DomainError> {
        if is_token(s, 1, Self::MAX_LEN) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed {
                field: "out_split_no",
            })
        }
    }

    /// One of paygate's own numbers (see `SplitPurpose::split_no`).
    pub(super) fn reserved(s: &str) -> Self {
        Self(s.to_owned())
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// paygate's own split number at the channel (WeChat Pay's `out_order_no`, Alipay's
/// `out_request_no`): two sites may pick the same split number, the channel sees one merchant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UpstreamSplitNo(String);

impl UpstreamSplitNo {
    pub const LEN: usize = 32;

    /// `ps`, the creation time in unix milliseconds (13 digits), then 17 random letters or digits.
    #[must_use]
    pub fn generate(now: Timestamp) -> Self {
        let millis = now.as_millis().clamp(0, 9_999_999_999_999);
        let prefix = format!("ps{millis:013}");
        Self(random_with_prefix(&prefix, Self::LEN - prefix.len()))
    }

    /// # Errors
    /// `Malformed` unless 1–64 characters of `[0-9A-Za-z_-]`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if is_token(s, 1, 64) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::Malformed {
                field: "upstream_split_no",
            })
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who receives a share, in the channel's own words: WeChat Pay `MERCHANT_ID` (a merchant number)
/// or `PERSONAL_OPENID` (an openid under the order's appid); Alipay `userId` (a `2088…` user id)
/// or `loginName` (an Alipay login: a phone number or an email address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiverType {
    WechatMerchant,
    WechatOpenid,
    AlipayUserId,
    AlipayLoginName,
}

impl ReceiverType {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WechatMerchant => "MERCHANT_ID",
            Self::WechatOpenid => "PERSONAL_OPENID",
            Self::AlipayUserId => "userId",
            Self::AlipayLoginName => "loginName",
        }
    }

    /// # Errors
    /// `Malformed { field: "receivers.type" }` for anything but the four types.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "MERCHANT_ID" => Ok(Self::WechatMerchant),
            "PERSONAL_OPENID" => Ok(Self::WechatOpenid),
            "userId" => Ok(Self::AlipayUserId),
            "loginName" => Ok(Self::AlipayLoginName),
            _ => Err(DomainError::Malformed {
                field: "receivers.type",
            }),
        }
    }

    /// Whether the channel needs the receiver's real name to know it: WeChat Pay for a merchant
    /// (`receivers/add`), Alipay for every receiver it binds.
    #[must_use]
    pub fn needs_name(self) -> bool {
        match self {
            Self::WechatMerchant | Self::AlipayUserId | Self::AlipayLoginName => true,
            Self::WechatOpenid => false,
        }
    }

    /// The channel whose receivers these are.
    #[must_use]
    pub fn channel(self) -> Channel {
        match self {
            Self::WechatMerchant | Self::WechatOpenid => Channel::Wechat,
            Self::AlipayUserId | Self::AlipayLoginName => Channel::Alipay,
        }
    }
}

/// A receiver's account at the channel: 1–64 printable ASCII characters without spaces (merchant
/// numbers, openids, `2088…` user ids, phone numbers and email addresses all are).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReceiverAccount(String);

impl ReceiverAccount {
    pub const MAX_LEN: usize = 64;

    /// # Errors
    /// `Missing` when empty; `Malformed` otherwise unless the rule above holds.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.is_empty() {
            return Err(DomainError::Missing {
                field: "receivers.account",
            });
        }
        if s.len() > Self::MAX_LEN || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DomainError::Malformed {
                field: "receivers.account",
            });
        }
        Ok(Self(s.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A receiver's real name (WeChat Pay requires it for a `MERCHANT_ID`, and checks it when given
/// for a person, encrypted; Alipay requires it to bind any receiver): 1–64 characters of visible
/// text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverName(String);

impl ReceiverName {
    pub const MAX_CHARS: usize = 64;

    /// # Errors
    /// `Malformed` when empty, too long, or holding control or invisible format characters.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let malformed = DomainError::Malformed {
            field: "receivers.name",
        };
        if s.trim().is_empty()
            || s.chars().count() > Self::MAX_CHARS
            || s.chars().any(char::is_control)
        {
            return Err(malformed);
        }
        refuse_invisible("receivers.name", s)?;
        Ok(Self(s.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the split is for, as the receivers see it (WeChat Pay's per-receiver `description`, at
/// most 80 characters; Alipay's `desc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitDescription(String);

impl SplitDescription {
    pub const MAX_CHARS: usize = 80;

    /// # Errors
    /// `Malformed` when empty, too long, or holding control or invisible format characters.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let malformed = DomainError::Malformed {
            field: "description",
        };
        if s.trim().is_empty()
            || s.chars().count() > Self::MAX_CHARS
            || s.chars().any(char::is_control)
        {
            return Err(malformed);
        }
        refuse_invisible("description", s)?;
        Ok(Self(s.to_owned()))
    }

    /// What the channel is told when the site gave no description: WeChat Pay requires one.
    #[must_use]
    pub fn default_text() -> &'static str {
        "分账"
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One receiver of a split and its share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitReceiver {
    pub kind: ReceiverType,
    pub account: ReceiverAccount,
    pub amount: Amount,
    pub name: Option<ReceiverName>,
}

/// The receivers of one split: 1–50 (WeChat Pay's limit), all of one channel, none named twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitReceivers(Vec<SplitReceiver>);

impl SplitReceivers {
    pub const MAX: usize = 50;

    /// # Errors
    /// `Missing` for none; `Malformed { field: "receivers" }` for more than 50, receivers of two
    /// channels, or one account named twice; `Missing { field: "receivers.name" }` for a receiver
    /// whose channel needs its name ([`ReceiverType::needs_name`]) without one.
    pub fn parse(receivers: Vec<SplitReceiver>) -> Result<Self, DomainError> {
        let malformed = DomainError::Malformed { field: "receivers" };
        let Some(first) = receivers.first() else {
            return Err(DomainError::Missing { field: "receivers" });
        };
        if receivers.len() > Self::MAX {
            return Err(malformed);
        }
        let channel = first.kind.channel();
        if receivers.iter().any(|r| r.kind.channel() != channel) {
            return Err(malformed);
        }
        for (i, r) in receivers.iter().enumerate() {
            if receivers[..i]
                .iter()
                .any(|o| o.kind == r.kind && o.account == r.account)
            {
                return Err(malformed);
            }
            if r.kind.needs_name() && r.name.is_none() {
                return Err(DomainError::Missing {
                    field: "receivers.name",
                });
            }
        }
        Ok(Self(receivers))
    }

    #[must_use]
    pub fn as_slice(&self) -> &[SplitReceiver] {
        &self.0
    }

    /// The channel of every receiver.
    #[must_use]
    pub fn channel(&self) -> Channel {
        self.0.first().map_or(Channel::Wechat, |r| r.kind.channel())
    }

    /// What the split takes from the order, in fen: at most 50 × [`Amount::MAX_FEN`], far within
    /// `i64`.
    #[must_use]
    pub fn total(&self) -> i64 {
        self.0.iter().map(|r| r.amount.as_i64()).sum()
    }
}

/// What a site asks for, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitRequest {
    pub out_split_no: OutSplitNo,
    pub receivers: SplitReceivers,
    pub description: Option<SplitDescription>,
    /// After this split the channel unfreezes what the order has left (WeChat Pay
    /// `unfreeze_unsplit`, Alipay `royalty_finish`): no later split of the order can be made.
    pub unfreeze_rest: bool,
}

impl SplitRequest {
    /// A hash of the request's content and the order it is for: a retry with the same number and
    /// the same content is the same split, anything else is a conflict. Receivers count in the
    /// order given.
    #[must_use]
    pub fn fingerprint(&self, order: OrderId) -> Fingerprint {
        let opt = |v: Option<&str>| v.map_or_else(String::new, |v| format!("={v}"));
        let mut fields = vec![
            ("order_id", order.as_i64().to_string()),
            ("out_split_no", self.out_split_no.as_str().to_owned()),
            (
                "description",
                opt(self.description.as_ref().map(SplitDescription::as_str)),
            ),
        ];
        // Only when asked, so that the fingerprints of splits made before it stay what they were.
        if self.unfreeze_rest {
            fields.push(("unfreeze_rest", "true".to_owned()));
        }
        for r in self.receivers.as_slice() {
            fields.push(("receiver.type", r.kind.as_str().to_owned()));
            fields.push(("receiver.account", r.account.as_str().to_owned()));
            fields.push(("receiver.amount", r.amount.as_i64().to_string()));
            fields.push((
                "receiver.name",
                opt(r.name.as_ref().map(ReceiverName::as_str)),
            ));
        }
        Fingerprint::of("s1", fields)
    }
}

/// How much of an order's payment its splits may take in all, in ten-thousandths: WeChat Pay
/// lets a direct merchant split 30% away; a sub-merchant's ratio is what it authorised (the
/// channel says); Alipay bounds splits only by what was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitRatio(i64);

impl SplitRatio {
    pub const WECHAT_DIRECT: Self = Self(3000);
    pub const WHOLE: Self = Self(10_000);

    /// # Errors
    /// `Malformed` outside 0–10000.
    pub fn parse(ten_thousandths: i64) -> Result<Self, DomainError> {
        if (0..=10_000).contains(&ten_thousandths) {
            Ok(Self(ten_thousandths))
        } else {
            Err(DomainError::Malformed { field: "max_ratio" })
        }
    }

    #[must_use]
    pub fn as_i64(self) -> i64 {
        self.0
    }

    /// The most, in fen, the splits of an order paid `paid` may take together: rounded down, so
    /// that the channel's own check (`split × 10000 ≤ paid × ratio`) always agrees.
    #[must_use]
    pub fn cap_of(self, paid: Amount) -> i64 {
        paid.as_i64() * self.0 / 10_000
    }
}

/// A split about to be stored. Only [`NewSplit::prepare`] makes one, so the fingerprint always
/// matches the request and the upstream number is always fresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSplit {
    order_id: OrderId,
    site_id: SiteId,
    channel: Channel,
    request: SplitRequest,
    fingerprint: Fingerprint,
    upstream_split_no: UpstreamSplitNo,
    created_at: Timestamp,
    purpose: SplitPurpose,
    unfreeze_rest: bool,
}

impl NewSplit {
    /// A site's split.
    #[must_use]
    pub fn prepare(order: &Order, request: SplitRequest, now: Timestamp) -> Self {
        Self {
            order_id: order.id,
            site_id: order.site_id.clone(),
            channel: order.pay_method.channel(),
            fingerprint: request.fingerprint(order.id),
            request,
            upstream_split_no: UpstreamSplitNo::generate(now),
            created_at: now,
            purpose: SplitPurpose::Site,
            unfreeze_rest: false,
        }
    }

    /// A split for `planned.purpose`: the site's own, or one of the order's plan.
    #[must_use]
    pub fn planned(order: &Order, planned: PlannedSplit, now: Timestamp) -> Self {
        Self {
            purpose: planned.purpose,
            unfreeze_rest: planned.request.unfreeze_rest,
            ..Self::prepare(order, planned.request, now)
        }
    }

    #[must_use]
    pub fn purpose(&self) -> SplitPurpose {
        self.purpose
    }

    #[must_use]
    pub fn unfreeze_rest(&self) -> bool {
        self.unfreeze_rest
    }

    #[must_use]
    pub fn order_id(&self) -> OrderId {
        self.order_id
    }

    #[must_use]
    pub fn site_id(&self) -> &SiteId {
        &self.site_id
    }

    #[must_use]
    pub fn channel(&self) -> Channel {
        self.channel
    }

    #[must_use]
    pub fn request(&self) -> &SplitRequest {
        &self.request
    }

    #[must_use]
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    #[must_use]
    pub fn upstream_split_no(&self) -> &UpstreamSplitNo {
        &self.upstream_split_no
    }

    #[must_use]
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }
}

/// Where a split stands. `processing` until the channel says how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SplitStatus {
    /// Stored and its amount reserved; the channel has it, or will on the next attempt.
    Processing,
    /// The channel finished it and every receiver was paid.
    Succeeded,
    /// The channel refused it, or finished it with no receiver paid: its amount is free again.
    Failed,
}

impl SplitStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// # Errors
    /// `Malformed` for anything but the three statuses.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "processing" => Ok(Self::Processing),
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            _ => Err(DomainError::Malformed {
                field: "split status",
            }),
        }
    }
}

/// How one receiver's share ended, as the channel said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiverResult {
    Pending,
    Succeeded,
    Failed,
}

impl ReceiverResult {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// # Errors
    /// `Malformed` for anything but the three results.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "pending" => Ok(Self::Pending),
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            _ => Err(DomainError::Malformed {
                field: "receiver result",
            }),
        }
    }
}

/// A receiver of a stored split with what became of its share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitShare {
    pub receiver: SplitReceiver,
    pub result: ReceiverResult,
    /// The channel's id of this share (WeChat Pay's `detail_id`), when it gave one.
    pub channel_detail_id: Option<String>,
    /// Why the channel did not pay it (WeChat Pay's `fail_reason`, Alipay's `error_code`).
    pub fail_reason: Option<String>,
}

/// A stored split, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub id: i64,
    pub order_id: OrderId,
    pub site_id: SiteId,
    pub channel: Channel,
    pub out_split_no: OutSplitNo,
    pub upstream_split_no: UpstreamSplitNo,
    /// What all its receivers take together.
    pub amount: Amount,
    pub shares: Vec<SplitShare>,
    pub description: Option<SplitDescription>,
    pub fingerprint: Fingerprint,
    pub status: SplitStatus,
    /// The channel's own id of the split (WeChat Pay's `order_id`, Alipay's `settle_no`).
    pub channel_split_id: Option<String>,
    pub upstream_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub version: i64,
    /// Who asked for it: the operator's fee is booked as the fee, not as a share of the site's
    /// money, and only a site's own split is told to the site.
    pub purpose: SplitPurpose,
    /// The channel unfreezes what the order has left after this split.
    pub unfreeze_rest: bool,
}

impl Split {
    /// What the channel is told the split is for.
    #[must_use]
    pub fn description_text(&self) -> &str {
        self.description
            .as_ref()
            .map_or(SplitDescription::default_text(), SplitDescription::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receiver(kind: ReceiverType, account: &str, fen: i64) -> SplitReceiver {
        SplitReceiver {
            kind,
            account: ReceiverAccount::parse(account).unwrap(),
            amount: Amount::parse(fen).unwrap(),
            name: kind
                .needs_name()
                .then(|| ReceiverName::parse("示例商户").unwrap()),
        }
    }

    #[test]
    fn receivers_are_one_channels_each_named_once() {
        let openid = |a: &str| receiver(ReceiverType::WechatOpenid, a, 100);
        let two = SplitReceivers::parse(vec![openid("o1"), openid("o2")]).unwrap();
        assert_eq!(two.total(), 200);
        assert_eq!(two.channel(), Channel::Wechat);
        assert_eq!(
            SplitReceivers::parse(vec![]),
            Err(DomainError::Missing { field: "receivers" })
        );
        let malformed = Err(DomainError::Malformed { field: "receivers" });
        assert_eq!(
            SplitReceivers::parse(vec![openid("o1"), openid("o1")]),
            malformed
        );
        let mixed = vec![
            openid("o1"),
            receiver(ReceiverType::AlipayUserId, "2088", 1),
        ];
        assert_eq!(SplitReceivers::parse(mixed), malformed);
        assert_eq!(
            SplitReceivers::parse((0..51).map(|i| openid(&format!("o{i}"))).collect()),
            malformed
        );
        let mut nameless = receiver(ReceiverType::WechatMerchant, "1900000109", 1);
        nameless.name = None;
        assert_eq!(
            SplitReceivers::parse(vec![nameless]),
            Err(DomainError::Missing {
                field: "receivers.name"
            })
        );
    }

    #[test]
    fn types_and_accounts_are_the_channels_own() {
        for kind in [
            ReceiverType::WechatMerchant,
            ReceiverType::WechatOpenid,
            ReceiverType::AlipayUserId,
            ReceiverType::AlipayLoginName,
        ] {
            assert_eq!(ReceiverType::parse(kind.as_str()), Ok(kind));
        }
        assert!(ReceiverType::parse("PERSONAL_SUB_OPENID").is_err());
        assert!(ReceiverAccount::parse("pay@example.com").is_ok());
        for bad in ["a b", &"a".repeat(65), "账号", "a\0"] {
            assert!(ReceiverAccount::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_ratio_cap_rounds_down_as_the_channel_checks() {
        let paid = Amount::parse(10_000).unwrap();
        assert_eq!(SplitRatio::WECHAT_DIRECT.cap_of(paid), 3000);
        assert_eq!(SplitRatio::WHOLE.cap_of(paid), 10_000);
        let odd = Amount::parse(3333).unwrap();
        let cap = SplitRatio::WECHAT_DIRECT.cap_of(odd);
        assert_eq!(cap, 999);
        assert!(cap * 10_000 <= 3333 * 3000 && (cap + 1) * 10_000 > 3333 * 3000);
        assert!(SplitRatio::parse(10_001).is_err());
    }

    #[test]
    fn the_fingerprint_covers_every_receiver_and_the_order() {
        let request = SplitRequest {
            out_split_no: OutSplitNo::parse("s1").unwrap(),
            receivers: SplitReceivers::parse(vec![receiver(
                ReceiverType::WechatOpenid,
                "o1",
                1000,
            )])
            .unwrap(),
            description: None,
            unfreeze_rest: false,
        };
        let base = request.fingerprint(OrderId::from_i64(1));
        assert_eq!(base, request.fingerprint(OrderId::from_i64(1)));
        assert_ne!(base, request.fingerprint(OrderId::from_i64(2)));
        let mut other = request.clone();
        other.receivers =
            SplitReceivers::parse(vec![receiver(ReceiverType::WechatOpenid, "o1", 1001)]).unwrap();
        assert_ne!(base, other.fingerprint(OrderId::from_i64(1)));
        let mut other = request.clone();
        other.description = Some(SplitDescription::parse("x").unwrap());
        assert_ne!(base, other.fingerprint(OrderId::from_i64(1)));
        let mut other = request;
        other.unfreeze_rest = true;
        assert_ne!(base, other.fingerprint(OrderId::from_i64(1)));
    }

    #[test]
    fn upstream_split_numbers_are_fresh_and_fit_both_channels() {
        let now = Timestamp::from_millis(1_706_601_234_000);
        let (a, b) = (
            UpstreamSplitNo::generate(now),
            UpstreamSplitNo::generate(now),
        );
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert_eq!(UpstreamSplitNo::parse(a.as_str()), Ok(a));
    }
}
