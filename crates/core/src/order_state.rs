//! The order state machine: which events move an order from which status to which.
//! Anything not listed in [`next`] is refused with a message staff can read, naming `status`.

use crate::money::Currency;
use crate::ValidationError;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Placed; the shopper has not paid yet.
    PendingPayment,
    /// The gateway holds the money; not captured yet.
    Authorized,
    /// Waiting: a manual payment to arrive, or a fraud review.
    OnHold,
    /// Money taken.
    Paid,
    /// Sent or handed over.
    Fulfilled,
    /// Called off before payment was taken (or it never came).
    Cancelled,
    /// Some of the money has gone back.
    PartiallyRefunded,
    /// All of the money has gone back.
    Refunded,
}

impl OrderStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::PendingPayment,
        OrderStatus::Authorized,
        OrderStatus::OnHold,
        OrderStatus::Paid,
        OrderStatus::Fulfilled,
        OrderStatus::Cancelled,
        OrderStatus::PartiallyRefunded,
        OrderStatus::Refunded,
    ];

    /// Stored name, snake case (`pending_payment`).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "pending_payment",
            OrderStatus::Authorized => "authorized",
            OrderStatus::OnHold => "on_hold",
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::PartiallyRefunded => "partially_refunded",
            OrderStatus::Refunded => "refunded",
        }
    }

    /// Parse a stored name; `None` for anything else.
    pub fn parse(s: &str) -> Option<OrderStatus> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// What staff and shoppers see ("Awaiting payment").
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "Awaiting payment",
            OrderStatus::Authorized => "Payment authorised",
            OrderStatus::OnHold => "On hold",
            OrderStatus::Paid => "Paid",
            OrderStatus::Fulfilled => "Fulfilled",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::PartiallyRefunded => "Partially refunded",
            OrderStatus::Refunded => "Refunded",
        }
    }

    /// Whether the order's stock is taken from the shelf (everything but cancelled/refunded).
    pub fn reserves_stock(self) -> bool {
        !matches!(self, OrderStatus::Cancelled | OrderStatus::Refunded)
    }

    /// Whether nothing can happen to the order any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderStatus::Cancelled | OrderStatus::Refunded)
    }

    /// Whether the order may be fulfilled now.
    pub fn can_fulfil(self) -> bool {
        next(self, &OrderEvent::Fulfil).is_ok()
    }

    /// The order as the subject of a sentence: "a cancelled order".
    pub fn subject(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "an order awaiting payment",
            OrderStatus::Authorized => "an order with an authorised payment",
            OrderStatus::OnHold => "an order on hold",
            OrderStatus::Paid => "a paid order",
            OrderStatus::Fulfilled => "a fulfilled order",
            OrderStatus::Cancelled => "a cancelled order",
            OrderStatus::PartiallyRefunded => "a partially refunded order",
            OrderStatus::Refunded => "a fully refunded order",
        }
    }
}

/// Something that happens to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    /// The gateway authorised the payment.
    Authorize,
    /// Put on hold (manual payment awaited, fraud review).
    Hold,
    /// Taken off hold; the payment stands authorised.
    Release,
    /// Staff asked the customer to pay again (a held order's authorization ran out).
    AskToPay,
    /// Money captured at the gateway (or cash taken).
    Capture,
    /// Staff confirmed an offline payment arrived.
    MarkPaid,
    /// Sent or handed over.
    Fulfil,
    /// Called off by staff or the shopper.
    Cancel,
    /// Payment never came within the reservation time.
    Expire,
    /// Money given back.
    Refund {
        /// This refund, in minor units.
        amount_minor: i64,
        /// Refunded before this one.
        refunded_before_minor: i64,
        /// Paid in total.
        paid_minor: i64,
    },
}

impl OrderEvent {
    /// Stored name for the order timeline (`mark_paid`, `refund`).
    pub fn as_str(&self) -> &'static str {
        match self {
            OrderEvent::Authorize => "authorize",
            OrderEvent::Hold => "hold",
            OrderEvent::Release => "release",
            OrderEvent::AskToPay => "ask_to_pay",
            OrderEvent::Capture => "capture",
            OrderEvent::MarkPaid => "mark_paid",
            OrderEvent::Fulfil => "fulfil",
            OrderEvent::Cancel => "cancel",
            OrderEvent::Expire => "expire",
            OrderEvent::Refund { .. } => "refund",
        }
    }

    /// The event as the end of "a cancelled order cannot ...".
    fn predicate(&self) -> &'static str {
        match self {
            OrderEvent::Authorize => "have its payment authorised",
            OrderEvent::Hold => "be put on hold",
            OrderEvent::Release => "be released from hold",
            OrderEvent::AskToPay => "be paid again",
            OrderEvent::Capture => "have its payment captured",
            OrderEvent::MarkPaid => "be marked as paid",
            OrderEvent::Fulfil => "be fulfilled",
            OrderEvent::Cancel => "be cancelled",
            OrderEvent::Expire => "expire",
            OrderEvent::Refund { .. } => "be refunded",
        }
    }
}

/// The status after `ev`, or why it cannot happen. Refund amounts in messages are in minor
/// units; prefer [`next_in`] wherever a currency is known.
pub fn next(from: OrderStatus, ev: &OrderEvent) -> Result<OrderStatus, ValidationError> {
    transition(from, ev, &|m| format!("{m} minor units"))
}

/// Like [`next`], with refund amounts in messages formatted in `currency` ("£12.50").
pub fn next_in(
    currency: &Currency,
    from: OrderStatus,
    ev: &OrderEvent,
) -> Result<OrderStatus, ValidationError> {
    transition(from, ev, &|m| currency.format(m))
}

fn transition(
    from: OrderStatus,
    ev: &OrderEvent,
    fmt: &dyn Fn(i64) -> String,
) -> Result<OrderStatus, ValidationError> {
    use OrderEvent as E;
    use OrderStatus as S;
    let to = match (from, ev) {
        (S::PendingPayment, E::Authorize) | (S::OnHold, E::Release) => S::Authorized,
        (S::PendingPayment | S::Authorized, E::Hold) => S::OnHold,
        (S::OnHold, E::AskToPay) => S::PendingPayment,
        (S::PendingPayment | S::Authorized | S::OnHold, E::Capture) | (S::OnHold, E::MarkPaid) => {
            S::Paid
        }
        (S::PendingPayment | S::Authorized | S::OnHold, E::Cancel)
        | (S::PendingPayment, E::Expire) => S::Cancelled,
        (S::Paid | S::PartiallyRefunded, E::Fulfil) => S::Fulfilled,
        (
            S::Paid | S::Fulfilled | S::PartiallyRefunded,
            E::Refund {
                amount_minor,
                refunded_before_minor,
                paid_minor,
            },
        ) => refund(*amount_minor, *refunded_before_minor, *paid_minor, fmt)?,
        _ => {
            let msg = format!("{} cannot {}", from.subject(), ev.predicate());
            return Err(ValidationError::new("status", msg));
        }
    };
    Ok(to)
}

fn refund(
    amount: i64,
    before: i64,
    paid: i64,
    fmt: &dyn Fn(i64) -> String,
) -> Result<OrderStatus, ValidationError> {
    if amount <= 0 {
        return Err(ValidationError::new(
            "amount",
            "enter a refund amount above zero",
        ));
    }
    if before < 0 || paid < 0 || before > paid {
        return Err(ValidationError::new(
            "amount",
            format!(
                "the order's payments do not add up (paid {}, refunded {}); check them before refunding",
                fmt(paid),
                fmt(before)
            ),
        ));
    }
    let left = paid - before;
    if amount > left {
        return Err(ValidationError::new(
            "amount",
            format!(
                "refund at most {} (paid {}, refunded {})",
                fmt(left),
                fmt(paid),
                fmt(before)
            ),
        ));
    }
    Ok(if amount == left {
        OrderStatus::Refunded
    } else {
        OrderStatus::PartiallyRefunded
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderEvent as E;
    use OrderStatus as S;

    fn refund(amount: i64) -> OrderEvent {
        E::Refund {
            amount_minor: amount,
            refunded_before_minor: 300,
            paid_minor: 1000,
        }
    }

    /// Every (status, event) pair: the allowed ones reach the listed status, all others are
    /// refused naming `status` with a sentence about both.
    #[test]
    fn every_transition_pair() {
        let events = [
            E::Authorize,
            E::Hold,
            E::Release,
            E::AskToPay,
            E::Capture,
            E::MarkPaid,
            E::Fulfil,
            E::Cancel,
            E::Expire,
            refund(100),
        ];
        let allowed: &[(S, &str, S)] = &[
            (S::PendingPayment, "authorize", S::Authorized),
            (S::PendingPayment, "hold", S::OnHold),
            (S::PendingPayment, "capture", S::Paid),
            (S::PendingPayment, "cancel", S::Cancelled),
            (S::PendingPayment, "expire", S::Cancelled),
            (S::Authorized, "hold", S::OnHold),
            (S::Authorized, "capture", S::Paid),
            (S::Authorized, "cancel", S::Cancelled),
            (S::OnHold, "release", S::Authorized),
            (S::OnHold, "ask_to_pay", S::PendingPayment),
            (S::OnHold, "capture", S::Paid),
            (S::OnHold, "mark_paid", S::Paid),
            (S::OnHold, "cancel", S::Cancelled),
            (S::Paid, "fulfil", S::Fulfilled),
            (S::Paid, "refund", S::PartiallyRefunded),
            (S::Fulfilled, "refund", S::PartiallyRefunded),
            (S::PartiallyRefunded, "fulfil", S::Fulfilled),
            (S::PartiallyRefunded, "refund", S::PartiallyRefunded),
        ];
        let mut ok = 0;
        for from in S::ALL {
            for ev in &events {
                let want = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == ev.as_str());
                match (next(from, ev), want) {
                    (Ok(to), Some((_, _, expect))) => {
                        assert_eq!(to, *expect, "{from:?} {ev:?}");
                        ok += 1;
                    }
                    (Err(e), None) => {
                        assert_eq!(e.field, "status", "{from:?} {ev:?}");
                        assert!(e.message.contains(" cannot "), "{}", e.message);
                        assert!(e.message.contains(ev.predicate()), "{}", e.message);
                    }
                    (got, want) => panic!("{from:?} {ev:?}: got {got:?}, want {want:?}"),
                }
            }
        }
        assert_eq!(ok, allowed.len());
        let e = next(S::Cancelled, &E::Fulfil).unwrap_err();
        assert_eq!(e.message, "a cancelled order cannot be fulfilled");
    }

    #[test]
    fn refunds_track_what_is_left() {
        let gbp = Currency::from_code("GBP").unwrap();
        for from in [S::Paid, S::Fulfilled, S::PartiallyRefunded] {
            assert_eq!(next(from, &refund(700)).unwrap(), S::Refunded);
            assert_eq!(next(from, &refund(699)).unwrap(), S::PartiallyRefunded);
            let e = next_in(&gbp, from, &refund(701)).unwrap_err();
            assert_eq!(e.field, "amount");
            assert_eq!(
                e.message,
                "refund at most £7.00 (paid £10.00, refunded £3.00)"
            );
            assert_eq!(next(from, &refund(0)).unwrap_err().field, "amount");
            assert_eq!(next(from, &refund(-5)).unwrap_err().field, "amount");
        }
        let odd = E::Refund {
            amount_minor: 1,
            refunded_before_minor: 1001,
            paid_minor: 1000,
        };
        assert_eq!(next(S::Paid, &odd).unwrap_err().field, "amount");
        let huge = E::Refund {
            amount_minor: i64::MAX,
            refunded_before_minor: 0,
            paid_minor: i64::MAX,
        };
        assert_eq!(next(S::Paid, &huge).unwrap(), S::Refunded);
        assert!(next(S::Paid, &refund(701))
            .unwrap_err()
            .message
            .contains("700 minor units"));
        // The status check comes first: a cancelled order is refused on status.
        assert_eq!(next(S::Cancelled, &refund(1)).unwrap_err().field, "status");
    }

    #[test]
    fn names_labels_and_helpers() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
            assert!(!s.label().is_empty());
            assert_eq!(s.is_terminal(), !s.reserves_stock());
        }
        assert_eq!(S::parse("Paid"), None);
        assert_eq!(S::PendingPayment.as_str(), "pending_payment");
        assert_eq!(S::PendingPayment.label(), "Awaiting payment");
        let fulfil: Vec<S> = S::ALL.into_iter().filter(|s| s.can_fulfil()).collect();
        assert_eq!(fulfil, [S::Paid, S::PartiallyRefunded]);
        let terminal: Vec<S> = S::ALL.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(terminal, [S::Cancelled, S::Refunded]);
        assert_eq!(E::MarkPaid.as_str(), "mark_paid");
    }
}
