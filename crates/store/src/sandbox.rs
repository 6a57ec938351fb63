//! The sandbox gateway's own book of payments: the built-in test provider keeps its payments
//! here, as a real provider would on its side. No card data exists at all: the shopper only
//! picks an outcome on the TEST MODE page.
//!
//! State changes are single conditional `UPDATE`s, so two clicks or a click racing a capture
//! cannot both win. A payment in the wrong state for a change is a [`StoreError::State`]
//! (field `status`; the gateway reports it as a conflict); wrong input is a
//! [`StoreError::Invalid`] naming `amount`, `currency`, `description`, `return_url` or `outcome`.

use sqlx::any::AnyRow;
use sqlx::Row;
use storefort_core::money::{Currency, MAX_PRICE_MINOR};
use storefort_core::ValidationError;

use crate::db::{looks_like_id, new_id};
use crate::{Db, StoreError};

/// Longest description kept.
const MAX_DESCRIPTION_CHARS: usize = 500;
/// Longest return URL accepted.
const MAX_URL_CHARS: usize = 2000;

/// A fieldless enum stored as text: the enum, `ALL`, `as_str` and `parse`.
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $text:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($(#[$vm])* $v,)+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$v,)+];

            /// The stored (and posted) text.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $text,)+ }
            }

            /// Parse the stored or posted text.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$v),)+ _ => None }
            }
        }
    };
}

text_enum! {
    /// Where a sandbox payment stands (the `status` column).
    SandboxStatus {
        /// Waiting for the shopper to pick an outcome (or to answer the 3-D Secure challenge).
        RequiresAction = "requires_action",
        /// Money reserved, not yet taken.
        Authorized = "authorized",
        /// Money taken (refunds are counted in `refunded_minor`).
        Captured = "captured",
        /// Cancelled before capture.
        Voided = "voided",
        /// Declined.
        Failed = "failed",
    }
}

impl SandboxStatus {
    /// How a person would say it, for messages.
    fn words(self) -> &'static str {
        match self {
            Self::RequiresAction => "still waiting for the shopper",
            Self::Authorized => "authorized",
            Self::Captured => "already captured",
            Self::Voided => "voided",
            Self::Failed => "declined",
        }
    }
}

text_enum! {
    /// What the shopper chose on the sandbox page (the `outcome` column).
    SandboxOutcome {
        /// Authorized; card visa 4242; CVC and postcode checks pass.
        Success = "success",
        /// Declined: "Your card was declined."
        Decline = "decline",
        /// Declined for insufficient funds.
        InsufficientFunds = "insufficient_funds",
        /// Declined: the CVC check failed.
        CvcFail = "cvc_fail",
        /// Authorized, but the postcode check failed (fraud screening looks at it).
        PostcodeFail = "postcode_fail",
        /// The 3-D Secure challenge is showing; the shopper has not answered yet.
        ThreeDs = "three_ds",
        /// 3-D Secure passed: authorized.
        ThreeDsPass = "three_ds_pass",
        /// 3-D Secure failed: declined.
        ThreeDsFail = "three_ds_fail",
    }
}

impl SandboxOutcome {
    /// The status this outcome leads to.
    pub fn status(self) -> SandboxStatus {
        match self {
            Self::Success | Self::PostcodeFail | Self::ThreeDsPass => SandboxStatus::Authorized,
            Self::ThreeDs => SandboxStatus::RequiresAction,
            Self::Decline | Self::InsufficientFunds | Self::CvcFail | Self::ThreeDsFail => {
                SandboxStatus::Failed
            }
        }
    }

    /// Whether this is an answer to the 3-D Secure challenge.
    pub fn answers_challenge(self) -> bool {
        matches!(self, Self::ThreeDsPass | Self::ThreeDsFail)
    }
}

/// One payment in the sandbox provider's book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPayment {
    /// The provider's reference (a UUIDv7).
    pub id: String,
    /// Amount authorized for, minor units.
    pub amount_minor: i64,
    /// ISO currency code, upper case.
    pub currency: String,
    /// What is being paid for, shown on the page.
    pub description: String,
    /// Where the shopper goes back to (absolute URL).
    pub return_url: String,
    /// Where it stands.
    pub status: SandboxStatus,
    /// What the shopper chose, once they chose.
    pub outcome: Option<SandboxOutcome>,
    /// Captured, minor units.
    pub captured_minor: i64,
    /// Refunded so far, minor units.
    pub refunded_minor: i64,
    /// Created, UTC ms.
    pub created_at: i64,
    /// Last changed, UTC ms.
    pub updated_at: i64,
}

impl SandboxPayment {
    /// Whether the shopper may still choose (no outcome yet, or the 3-D Secure challenge is
    /// waiting for an answer).
    pub fn awaiting_shopper(&self) -> bool {
        self.status == SandboxStatus::RequiresAction
    }
}

const COLUMNS: &str = "id, amount_minor, currency, description, return_url, status, outcome, \
                       captured_minor, refunded_minor, created_at, updated_at";

fn from_row(r: &AnyRow) -> Result<SandboxPayment, StoreError> {
    let id: String = r.try_get("id")?;
    let status: String = r.try_get("status")?;
    let outcome: Option<String> = r.try_get("outcome")?;
    let bad = |col: &str| StoreError::Unreadable {
        context: format!("sandbox_payments.{col}:{id}"),
    };
    let status = SandboxStatus::parse(&status).ok_or_else(|| bad("status"))?;
    let outcome = match outcome {
        Some(o) => Some(SandboxOutcome::parse(&o).ok_or_else(|| bad("outcome"))?),
        None => None,
    };
    Ok(SandboxPayment {
        amount_minor: r.try_get("amount_minor")?,
        currency: r.try_get("currency")?,
        description: r.try_get("description")?,
        return_url: r.try_get("return_url")?,
        status,
        outcome,
        captured_minor: r.try_get("captured_minor")?,
        refunded_minor: r.try_get("refunded_minor")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        id,
    })
}

fn invalid(field: &str, message: impl Into<String>) -> StoreError {
    ValidationError::new(field, message).into()
}

fn money(p: &SandboxPayment, minor: i64) -> String {
    match Currency::from_code(&p.currency) {
        Ok(c) => c.format(minor),
        Err(_) => format!("{minor} {} minor units", p.currency),
    }
}

/// A change refused because of where the payment stands (the gateway's "conflict").
fn wrong_state(rule: &str, p: &SandboxPayment) -> StoreError {
    StoreError::state(
        "status",
        format!("{rule}; this one is {}", p.status.words()),
    )
}

fn positive_amount(amount_minor: i64) -> Result<(), StoreError> {
    if amount_minor <= 0 {
        return Err(invalid("amount", "must be more than zero"));
    }
    Ok(())
}

impl Db {
    /// Open a sandbox payment for `amount_minor` in `currency`, waiting for the shopper.
    pub async fn sandbox_create(
        &self,
        amount_minor: i64,
        currency: &str,
        description: &str,
        return_url: &str,
    ) -> Result<SandboxPayment, StoreError> {
        positive_amount(amount_minor)?;
        if amount_minor > MAX_PRICE_MINOR * 1000 {
            return Err(invalid("amount", "is too large for a test payment"));
        }
        let currency = Currency::from_code(currency)?.code.to_string();
        let description = description.trim();
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(invalid(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        let url = return_url.trim();
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        if !scheme_ok || url.chars().count() > MAX_URL_CHARS || url.contains(char::is_whitespace) {
            return Err(invalid(
                "return_url",
                "must be an absolute http:// or https:// address without spaces",
            ));
        }
        let now = self.now();
        let row = sqlx::query(&format!(
            "INSERT INTO sandbox_payments (id, amount_minor, currency, description, return_url, \
             status, outcome, captured_minor, refunded_minor, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'requires_action', NULL, 0, 0, $6, $6) \
             RETURNING {COLUMNS}"
        ))
        .bind(new_id())
        .bind(amount_minor)
        .bind(currency)
        .bind(description)
        .bind(url)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        from_row(&row)
    }

    /// One sandbox payment; [`StoreError::NotFound`] for an unknown or malformed id.
    pub async fn sandbox_payment(&self, id: &str) -> Result<SandboxPayment, StoreError> {
        if !looks_like_id(id) {
            return Err(StoreError::not_found("sandbox payment", id));
        }
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sandbox_payments WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::not_found("sandbox payment", id))?;
        from_row(&row)
    }

    /// Record the shopper's choice. A first choice needs a payment still waiting with no
    /// outcome; [`SandboxOutcome::ThreeDsPass`]/[`SandboxOutcome::ThreeDsFail`] answer a
    /// waiting 3-D Secure challenge and nothing else. A decided payment cannot be decided again.
    pub async fn sandbox_set_outcome(
        &self,
        id: &str,
        outcome: SandboxOutcome,
    ) -> Result<SandboxPayment, StoreError> {
        let current = self.sandbox_payment(id).await?;
        let wanted_before = if outcome.answers_challenge() {
            "outcome = 'three_ds'"
        } else {
            "outcome IS NULL"
        };
        let done = sqlx::query(&format!(
            "UPDATE sandbox_payments SET outcome = $1, status = $2, updated_at = $3 \
             WHERE id = $4 AND status = 'requires_action' AND {wanted_before}"
        ))
        .bind(outcome.as_str())
        .bind(outcome.status().as_str())
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            return self.sandbox_payment(id).await;
        }
        // Refused: explain against the latest state (it may have changed since `current`).
        let now = self.sandbox_payment(id).await.unwrap_or(current);
        Err(if now.status != SandboxStatus::RequiresAction {
            StoreError::state(
                "status",
                format!(
                    "this payment was already decided (it is {}); it cannot be decided again",
                    now.status.words()
                ),
            )
        } else if outcome.answers_challenge() {
            invalid(
                "outcome",
                "there is no 3-D Secure challenge waiting on this payment",
            )
        } else {
            invalid(
                "outcome",
                "the 3-D Secure challenge is waiting: answer it with pass or fail",
            )
        })
    }

    /// Capture `amount_minor` of an authorized payment (once; at most the authorized amount).
    pub async fn sandbox_capture(
        &self,
        id: &str,
        amount_minor: i64,
    ) -> Result<SandboxPayment, StoreError> {
        let p = self.sandbox_payment(id).await?;
        positive_amount(amount_minor)?;
        if p.status != SandboxStatus::Authorized {
            return Err(wrong_state(
                "only an authorized payment can be captured",
                &p,
            ));
        }
        if amount_minor > p.amount_minor {
            return Err(invalid(
                "amount",
                format!(
                    "capture at most {} (the amount authorized)",
                    money(&p, p.amount_minor)
                ),
            ));
        }
        let done = sqlx::query(
            "UPDATE sandbox_payments SET status = 'captured', captured_minor = $1, \
             updated_at = $2 WHERE id = $3 AND status = 'authorized' AND amount_minor >= $1",
        )
        .bind(amount_minor)
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.after_change(id, done.rows_affected(), "captured")
            .await
    }

    /// Void (cancel) a payment before capture: an authorized one, or one the shopper has not
    /// finished yet (so an abandoned payment page can no longer be completed).
    pub async fn sandbox_void(&self, id: &str) -> Result<SandboxPayment, StoreError> {
        let p = self.sandbox_payment(id).await?;
        if !matches!(
            p.status,
            SandboxStatus::Authorized | SandboxStatus::RequiresAction
        ) {
            return Err(wrong_state("only an authorized payment can be voided", &p));
        }
        let done = sqlx::query(
            "UPDATE sandbox_payments SET status = 'voided', updated_at = $1 \
             WHERE id = $2 AND status IN ('authorized', 'requires_action')",
        )
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.after_change(id, done.rows_affected(), "voided").await
    }

    /// Refund `amount_minor` of captured money: at most what is left after earlier refunds.
    pub async fn sandbox_refund(
        &self,
        id: &str,
        amount_minor: i64,
    ) -> Result<SandboxPayment, StoreError> {
        let p = self.sandbox_payment(id).await?;
        positive_amount(amount_minor)?;
        if p.status != SandboxStatus::Captured {
            return Err(wrong_state("only captured money can be refunded", &p));
        }
        let left = p.captured_minor - p.refunded_minor;
        if amount_minor > left {
            return Err(invalid(
                "amount",
                format!(
                    "refund at most {} (captured {}, refunded {})",
                    money(&p, left),
                    money(&p, p.captured_minor),
                    money(&p, p.refunded_minor)
                ),
            ));
        }
        let done = sqlx::query(
            "UPDATE sandbox_payments SET refunded_minor = refunded_minor + $1, updated_at = $2 \
             WHERE id = $3 AND status = 'captured' AND captured_minor - refunded_minor >= $1",
        )
        .bind(amount_minor)
        .bind(self.now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.after_change(id, done.rows_affected(), "refunded")
            .await
    }

    /// The row after a conditional update; when the update lost a race, say so.
    async fn after_change(
        &self,
        id: &str,
        rows: u64,
        verb: &str,
    ) -> Result<SandboxPayment, StoreError> {
        if rows == 1 {
            return self.sandbox_payment(id).await;
        }
        let p = self.sandbox_payment(id).await?;
        Err(StoreError::state(
            "status",
            format!(
                "the payment changed while it was being {verb} (it is now {}); look again",
                p.status.words()
            ),
        ))
    }
}
