//! Printing doctor's results: aligned text for people, JSON for scripts.

use std::fmt::Write;
use std::path::Path;

use super::{CheckResult, Status};

fn count(results: &[CheckResult], s: Status) -> usize {
    results.iter().filter(|r| r.status == s).count()
}

/// One line per check, the fix indented under anything that did not pass, then a summary.
pub fn text(config_path: &Path, results: &[CheckResult]) -> String {
    let width = results.iter().map(|r| r.title.len()).max().unwrap_or(0);
    let mut out = format!("storefort doctor: {}\n\n", config_path.display());
    for r in results {
        let _ = writeln!(
            out,
            "{}  {:width$}  {}",
            r.status.label(),
            r.title,
            r.detail
        );
        if let Some(fix) = r.fix.as_deref().filter(|_| r.status != Status::Pass) {
            let _ = writeln!(out, "      {:width$}  fix: {fix}", "");
        }
    }
    let (pass, warn, fail) = (
        count(results, Status::Pass),
        count(results, Status::Warn),
        count(results, Status::Fail),
    );
    let verdict = if fail > 0 {
        "fix the failures before opening the shop"
    } else if warn > 0 {
        "no failures; the warnings are worth a look"
    } else {
        "all good"
    };
    let _ = writeln!(
        out,
        "\n{pass} passed, {warn} warning(s), {fail} failed: {verdict}."
    );
    out
}

/// `{"config": ..., "ok": bool, "passed": n, "warnings": n, "failed": n, "checks": [...]}`.
pub fn json(config_path: &Path, results: &[CheckResult]) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(&serde_json::json!({
        "config": config_path.display().to_string(),
        "ok": count(results, Status::Fail) == 0,
        "passed": count(results, Status::Pass),
        "warnings": count(results, Status::Warn),
        "failed": count(results, Status::Fail),
        "checks": results,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: &'static str, status: Status, fix: Option<&str>) -> CheckResult {
        CheckResult {
            id,
            title: id,
            status,
            detail: "d".into(),
            fix: fix.map(str::to_string),
        }
    }

    #[test]
    fn text_shows_fixes_for_non_passes_and_a_summary() {
        let rs = [
            r("a", Status::Pass, None),
            r("b", Status::Fail, Some("chmod 600 x")),
        ];
        let t = text(Path::new("s.toml"), &rs);
        assert!(t.contains("PASS  a  d"), "{t}");
        assert!(t.contains("FAIL  b  d\n"), "{t}");
        assert!(t.contains("fix: chmod 600 x"), "{t}");
        assert!(t.contains("1 passed, 0 warning(s), 1 failed"), "{t}");
        let j: serde_json::Value =
            serde_json::from_str(&json(Path::new("s.toml"), &rs).unwrap()).unwrap();
        assert_eq!(j["ok"], false);
        assert_eq!(j["checks"][1]["status"], "fail");
        assert_eq!(j["checks"][0]["fix"], serde_json::Value::Null);
    }
}
