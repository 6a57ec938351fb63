//! Stripe webhooks: the `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]` header is
//! an HMAC-SHA256 of `"{t}.{body}"` under the endpoint's signing secret. A signature is
//! accepted when any `v1` matches (compared in constant time) and `t` is within five minutes of
//! now, either way. Replays inside that window are the caller's to refuse, by event ID.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::stripe::pi_state;
use crate::{GatewayError, WebhookEvent};

/// How far a signature's timestamp may be from now, either way.
pub const TOLERANCE_MS: i64 = 5 * 60 * 1000;
/// The header Stripe signs with.
pub const SIGNATURE_HEADER: &str = "stripe-signature";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, t: &str, body: &[u8]) -> Result<HmacSha256, GatewayError> {
    let mut m = HmacSha256::new_from_slice(secret.as_bytes())
        .map_err(|_| GatewayError::BadSignature("the webhook secret cannot be used".into()))?;
    m.update(t.as_bytes());
    m.update(b".");
    m.update(body);
    Ok(m)
}

/// A `Stripe-Signature` value for `body` at `t_secs` (for tests and local tools).
pub fn sign(secret: &str, t_secs: i64, body: &[u8]) -> String {
    let t = t_secs.to_string();
    match mac(secret, &t, body) {
        Ok(m) => format!("t={t},v1={}", hex::encode(m.finalize().into_bytes())),
        Err(_) => format!("t={t}"),
    }
}

/// Check a `Stripe-Signature` header value against `body`.
pub fn verify_signature(
    header: &str,
    body: &[u8],
    secret: &str,
    now_ms: i64,
) -> Result<(), GatewayError> {
    let bad = |m: &str| Err(GatewayError::BadSignature(m.to_string()));
    if secret.is_empty() {
        return bad("no webhook signing secret is configured");
    }
    let mut t: Option<&str> = None;
    let mut sigs: Vec<&str> = Vec::new();
    for part in header.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k {
            "t" if t.is_some() => return bad("the header carries more than one timestamp"),
            "t" => t = Some(v),
            "v1" => sigs.push(v),
            _ => {} // v0 and future schemes are ignored
        }
    }
    let Some(t) = t else {
        return bad("the header has no timestamp (t=)");
    };
    if sigs.is_empty() {
        return bad("the header has no v1 signature");
    }
    let t_ms = t
        .parse::<i64>()
        .ok()
        .and_then(|s| s.checked_mul(1000))
        .ok_or_else(|| GatewayError::BadSignature("the timestamp is not a number".into()))?;
    if now_ms.abs_diff(t_ms) > TOLERANCE_MS as u64 {
        return bad("the timestamp is more than 5 minutes from now (replayed or clock skew)");
    }
    let expected = mac(secret, t, body)?.finalize().into_bytes();
    let mut ok = subtle::Choice::from(0u8);
    for s in sigs {
        if let Ok(given) = hex::decode(s) {
            if given.len() == expected.len() {
                ok |= given.ct_eq(expected.as_slice());
            }
        }
    }
    if bool::from(ok) {
        Ok(())
    } else {
        bad("no v1 signature matches")
    }
}

/// Verify a delivery and read its event. PaymentIntent events carry the payment's state;
/// charge and refund events carry the PaymentIntent's ID as the reference only.
pub fn parse(
    headers: &[(String, String)],
    body: &[u8],
    secret: &str,
    now_ms: i64,
) -> Result<WebhookEvent, GatewayError> {
    let header = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(SIGNATURE_HEADER))
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| GatewayError::BadSignature("no Stripe-Signature header".into()))?;
    verify_signature(header, body, secret, now_ms)?;
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| GatewayError::invalid("body", "the event is not JSON"))?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(id), Some(kind)) = (text(&v, "id"), text(&v, "type")) else {
        return Err(GatewayError::invalid("body", "the event has no id or type"));
    };
    let object = v.pointer("/data/object").unwrap_or(&Value::Null);
    let (reference, state) = match object.get("object").and_then(Value::as_str) {
        Some("payment_intent") => (text(object, "id"), Some(pi_state(object))),
        Some("charge" | "refund") => (text(object, "payment_intent"), None),
        _ => (None, None),
    };
    Ok(WebhookEvent {
        id,
        reference,
        kind,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PaymentStatus;

    const SECRET: &str = "whsec_test_secret";
    const NOW_MS: i64 = 1_700_000_000_000;
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.amount_capturable_updated","data":{"object":{"id":"pi_1","object":"payment_intent","amount":2500,"amount_received":0,"status":"requires_capture"}}}"#;

    fn headers(sig: String) -> Vec<(String, String)> {
        vec![("Stripe-Signature".into(), sig)]
    }

    #[test]
    fn good_signature_gives_the_event_and_state() {
        let sig = sign(SECRET, NOW_MS / 1000, BODY);
        let e = parse(&headers(sig), BODY, SECRET, NOW_MS).unwrap();
        assert_eq!(e.id, "evt_1");
        assert_eq!(e.kind, "payment_intent.amount_capturable_updated");
        assert_eq!(e.reference.as_deref(), Some("pi_1"));
        let s = e.state.unwrap();
        assert_eq!(
            (s.status, s.amount_minor),
            (PaymentStatus::Authorized, 2500)
        );
    }

    #[test]
    fn any_of_several_v1_signatures_may_match() {
        let good = sign(SECRET, NOW_MS / 1000, BODY);
        let v1 = good.split_once(",v1=").unwrap().1;
        let h = format!("t={},v1={},v0=zz,v1={v1}", NOW_MS / 1000, "ab".repeat(32));
        assert!(verify_signature(&h, BODY, SECRET, NOW_MS).is_ok());
    }

    #[test]
    fn bad_signatures_are_refused() {
        let t = NOW_MS / 1000;
        let cases = [
            (sign("whsec_other", t, BODY), "no v1 signature matches"),
            (sign(SECRET, t, b"{}"), "no v1 signature matches"),
            (format!("t={t}"), "no v1"),
            (format!("v1={}", "00".repeat(32)), "no timestamp"),
            (format!("t=abc,v1={}", "00".repeat(32)), "not a number"),
            (format!("t={t},v1=nothex"), "no v1 signature matches"),
            (format!("t={t},t={t},v1=00"), "more than one timestamp"),
        ];
        for (h, why) in cases {
            let e = verify_signature(&h, BODY, SECRET, NOW_MS).unwrap_err();
            assert!(
                matches!(&e, GatewayError::BadSignature(m) if m.contains(why)),
                "{h}: {e}"
            );
        }
        let e = parse(&[], BODY, SECRET, NOW_MS).unwrap_err();
        assert!(matches!(e, GatewayError::BadSignature(m) if m.contains("no Stripe-Signature")));
        // An empty secret never verifies, even a header signed with it.
        let e = verify_signature(&sign("", t, BODY), BODY, "", NOW_MS).unwrap_err();
        assert!(matches!(e, GatewayError::BadSignature(m) if m.contains("no webhook")));
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let t = NOW_MS / 1000;
        for (offset, ok) in [(-301, false), (-299, true), (299, true), (301, false)] {
            let h = sign(SECRET, t + offset, BODY);
            let r = verify_signature(&h, BODY, SECRET, NOW_MS);
            assert_eq!(r.is_ok(), ok, "offset {offset}s: {r:?}");
            if let Err(e) = r {
                assert!(e.to_string().contains("5 minutes"), "{e}");
            }
        }
        let h = sign(SECRET, i64::MAX / 10, BODY);
        assert!(verify_signature(&h, BODY, SECRET, NOW_MS).is_err());
    }

    #[test]
    fn charge_events_name_their_payment_intent() {
        let body = br#"{"id":"evt_2","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","payment_intent":"pi_9"}}}"#;
        let e = parse(
            &headers(sign(SECRET, NOW_MS / 1000, body)),
            body,
            SECRET,
            NOW_MS,
        )
        .unwrap();
        assert_eq!(
            (e.kind.as_str(), e.reference.as_deref(), e.state),
            ("charge.refunded", Some("pi_9"), None)
        );
        let junk = b"not json";
        let e = parse(
            &headers(sign(SECRET, NOW_MS / 1000, junk)),
            junk,
            SECRET,
            NOW_MS,
        );
        assert!(matches!(e, Err(GatewayError::Invalid { field, .. }) if field == "body"));
    }
}
