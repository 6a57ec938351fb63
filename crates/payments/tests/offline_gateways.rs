//! Manual (bank transfer) and cash: no provider, fixed answers.

use storefort_payments::{
    AuthorizeRequest, CashGateway, Channel, Gateway, GatewayError, ManualGateway, NextStep,
    PaymentStatus,
};

fn request() -> AuthorizeRequest {
    AuthorizeRequest {
        order_id: "o-7".into(),
        order_number: 7,
        amount_minor: 1234,
        currency: "EUR".into(),
        return_url: "https://shop.example/r".into(),
        idempotency_key: "k".into(),
        description: "Order #7".into(),
    }
}

#[tokio::test]
async fn manual_waits_for_staff_to_mark_it_paid() {
    let g = ManualGateway::new("Pay to IBAN XX00 0000".into());
    assert_eq!((g.id(), g.label().as_str()), ("manual", "Bank transfer"));
    assert_eq!(g.channels(), &[Channel::Web, Channel::Pos]);
    assert_eq!(g.instructions(), "Pay to IBAN XX00 0000");
    let a = g.authorize(&request()).await.unwrap();
    assert_eq!(a.reference, "manual-o-7");
    assert_eq!(
        (a.state.status, a.state.amount_minor, a.state.captured_minor),
        (PaymentStatus::Pending, 1234, 0)
    );
    assert_eq!(a.next, NextStep::None);
    let c = g.capture(&a.reference, 1234).await.unwrap();
    assert_eq!(
        (c.status, c.captured_minor),
        (PaymentStatus::Captured, 1234)
    );
    assert_eq!(
        g.void(&a.reference).await.unwrap().status,
        PaymentStatus::Voided
    );
    let r = g.refund(&a.reference, 200, "rk").await.unwrap();
    assert_eq!(
        (r.reference.as_str(), r.state.refunded_minor),
        ("manual-o-7-refund-rk", 200)
    );
    assert!(matches!(
        g.status(&a.reference).await,
        Err(GatewayError::NotSupported(_))
    ));
    assert!(matches!(
        g.capture(&a.reference, -1).await,
        Err(GatewayError::Invalid { .. })
    ));
    let mut bad = request();
    bad.amount_minor = 0;
    assert!(g.authorize(&bad).await.is_err());
}

#[tokio::test]
async fn cash_is_taken_at_once_and_only_at_the_till() {
    let g = CashGateway::new();
    assert_eq!((g.id(), g.channels()), ("cash", &[Channel::Pos][..]));
    let a = g.authorize(&request()).await.unwrap();
    assert_eq!(
        (a.state.status, a.state.captured_minor),
        (PaymentStatus::Captured, 1234)
    );
    assert_eq!(a.next, NextStep::None);
    assert!(
        matches!(g.void(&a.reference).await, Err(GatewayError::Conflict(m)) if m.contains("refund"))
    );
    let r = g.refund(&a.reference, 1234, "k2").await.unwrap();
    assert_eq!(r.state.refunded_minor, 1234);
    assert!(matches!(
        g.webhook(&[], b"", 0),
        Err(GatewayError::NotSupported(_))
    ));
}
