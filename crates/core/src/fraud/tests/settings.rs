//! Settings validation and the names of signals and decisions.

use super::super::*;

#[test]
fn settings_validation_names_the_field() {
    assert_eq!(FraudSettings::default().validate(), Ok(()));
    assert!(super::super::settings::defaults_in_range());
    let field = |f: &dyn Fn(&mut FraudSettings)| {
        let mut s = FraudSettings::default();
        f(&mut s);
        s.validate().map_err(|e| e.field)
    };
    assert_eq!(
        field(&|s| s.review_threshold = 0),
        Err("review_threshold".into())
    );
    assert_eq!(
        field(&|s| s.block_threshold = 101),
        Err("block_threshold".into())
    );
    assert_eq!(
        field(&|s| s.block_threshold = 40),
        Err("block_threshold".into())
    );
    assert_eq!(field(&|s| s.block_threshold = 50), Ok(()));
    assert_eq!(
        field(&|s| {
            s.weights.insert(Signal::CvcFailed, 101);
        }),
        Err("weights.cvc_failed".into())
    );
    assert_eq!(
        field(&|s| s.high_total_minor = -1),
        Err("high_total_minor".into())
    );
    assert_eq!(
        field(&|s| s.new_customer_minor = 1_000_000_000_001),
        Err("new_customer_minor".into())
    );
    assert_eq!(
        field(&|s| s.high_total_multiple = 0),
        Err("high_total_multiple".into())
    );
    assert_eq!(
        field(&|s| s.expensive_quantity = 10_001),
        Err("expensive_quantity".into())
    );
    assert_eq!(
        field(&|s| s.velocity_window_minutes = 43_201),
        Err("velocity_window_minutes".into())
    );
    assert_eq!(
        field(&|s| s.velocity_cards = 0),
        Err("velocity_cards".into())
    );
    assert_eq!(
        field(&|s| s.authorization_days = 31),
        Err("authorization_days".into())
    );
    assert_eq!(
        field(&|s| s.extra_disposable_domains = vec!["@bad domain".into()]),
        Err("extra_disposable_domains".into())
    );
    assert_eq!(
        field(&|s| s.allowed_domains = vec!["x.com".into(); 1001]),
        Err("allowed_domains".into())
    );
    assert_eq!(
        field(&|s| s.allowed_domains = vec!["Mail.Example.co.uk".into()]),
        Ok(())
    );
    let s = FraudSettings {
        block_threshold: 40,
        ..FraudSettings::default()
    };
    let msg = s.validate().err().map(|e| e.message).unwrap_or_default();
    assert!(msg.contains("at least the review threshold (50)"), "{msg}");
}

#[test]
fn signal_names_round_trip() {
    for s in Signal::ALL {
        assert_eq!(Signal::parse(s.as_str()), Some(s));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, format!("\"{}\"", s.as_str()));
    }
    for d in [Decision::Pass, Decision::Review, Decision::Block] {
        assert_eq!(Decision::parse(d.as_str()), Some(d));
    }
    assert_eq!(Signal::parse("nope"), None);
}
