//! Hostile modules against the sandbox: each is stopped by the limit meant for it, with a
//! reason, and the host goes on serving the next call.

use std::time::{Duration, Instant};

use serde_json::json;
use storefort_plugins::{Host, Limits, Permission, PluginError};

/// A module with `memory`, `alloc` (always address 1024) and the given body.
fn module(imports: &str, body: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
             {imports}
             (memory (export "memory") 1)
             (func (export "alloc") (param i32) (result i32) (i32.const 1024))
             {body})"#
    ))
    .unwrap()
}

/// Returns its input unchanged: `(ptr << 32) | len`.
const ECHO: &str = r#"(func (export "hook") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get 0)) (i64.const 32))
            (i64.extend_i32_u (local.get 1))))"#;

fn host() -> Host {
    Host::new(Limits::default()).unwrap()
}

#[test]
fn a_well_behaved_plugin_gets_its_input_and_returns_json() {
    let h = host();
    let p = h.load(&module("", ECHO), &[]).unwrap();
    let input = json!({"version": 1, "cart": {"total_minor": 4200}});
    assert_eq!(h.call(&p, "hook", &input).unwrap(), input);
}

#[test]
fn an_endless_loop_runs_out_of_fuel_and_the_host_goes_on() {
    let h = host();
    let spin = h
        .load(
            &module("", r#"(func (export "hook") (param i32 i32) (result i64) (loop (br 0)) (i64.const 0))"#),
            &[],
        )
        .unwrap();
    let started = Instant::now();
    assert_eq!(
        h.call(&spin, "hook", &json!({})),
        Err(PluginError::OutOfFuel(11_000_000))
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // The next plugin call is unaffected.
    let echo = h.load(&module("", ECHO), &[]).unwrap();
    assert_eq!(h.call(&echo, "hook", &json!([1])).unwrap(), json!([1]));
}

#[test]
fn a_slow_plugin_is_stopped_at_its_deadline() {
    let h = Host::new(Limits {
        fuel: u64::MAX / 2,
        deadline: Duration::from_millis(20),
        ..Limits::default()
    })
    .unwrap();
    let spin = h
        .load(
            &module("", r#"(func (export "hook") (param i32 i32) (result i64) (loop (br 0)) (i64.const 0))"#),
            &[],
        )
        .unwrap();
    let started = Instant::now();
    assert_eq!(
        h.call(&spin, "hook", &json!({})),
        Err(PluginError::Deadline(20))
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_memory_bomb_is_stopped_by_the_cap() {
    let h = host();
    let bomb = h
        .load(
            &module(
                "",
                r#"(func (export "hook") (param i32 i32) (result i64)
                     (loop (drop (memory.grow (i32.const 16))) (br 0)) (i64.const 0))"#,
            ),
            &[],
        )
        .unwrap();
    assert_eq!(
        h.call(&bomb, "hook", &json!({})),
        Err(PluginError::MemoryLimit(10 * 1024 * 1024))
    );
    // Asking for it all up front (1,000 pages = 64 MB) is refused too.
    let big = wat::parse_str(
        r#"(module (memory (export "memory") 1000)
             (func (export "alloc") (param i32) (result i32) (i32.const 0)))"#,
    )
    .unwrap();
    let big = h.load(&big, &[]).unwrap();
    assert_eq!(
        h.call(&big, "hook", &json!({})),
        Err(PluginError::MemoryLimit(10 * 1024 * 1024))
    );
}

#[test]
fn huge_malformed_or_stray_output_is_refused() {
    let h = host();
    let out = |ptr: u64, len: u64| {
        module(
            r#""#,
            &format!(
                r#"(data (i32.const 4096) "this is not json")
                   (func (export "hook") (param i32 i32) (result i64) (i64.const {}))"#,
                (ptr << 32) | len
            ),
        )
    };
    let huge = h.load(&out(0, 1_000_000), &[]).unwrap();
    assert_eq!(
        h.call(&huge, "hook", &json!({})),
        Err(PluginError::OutputTooLarge(1_000_000))
    );
    let garbage = h.load(&out(4096, 16), &[]).unwrap();
    assert!(matches!(
        h.call(&garbage, "hook", &json!({})),
        Err(PluginError::BadOutput(m)) if m.contains("not JSON")
    ));
    let stray = h.load(&out(65_530, 100), &[]).unwrap();
    assert!(matches!(
        h.call(&stray, "hook", &json!({})),
        Err(PluginError::BadOutput(m)) if m.contains("outside memory")
    ));
    // Too much input is refused before the plugin runs.
    let echo = h.load(&module("", ECHO), &[]).unwrap();
    let big = json!("x".repeat(200 * 1024));
    assert!(matches!(
        h.call(&echo, "hook", &big),
        Err(PluginError::InputTooLarge(_))
    ));
}

#[test]
fn imports_need_the_permission_that_grants_them() {
    let h = host();
    let clock = module(
        r#"(import "storefort" "clock_ms" (func $now (result i64)))"#,
        r#"(func (export "hook") (param i32 i32) (result i64) (drop (call $now)) (i64.const 0))"#,
    );
    assert_eq!(
        h.load(&clock, &[Permission::ReadOrders]).err(),
        Some(PluginError::ImportNotGranted {
            module: "storefort".into(),
            name: "clock_ms".into()
        })
    );
    assert!(h.load(&clock, &[Permission::Clock]).is_ok());
    // No WASI: no files, no network, whatever it asks for.
    let wasi = module(
        r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#,
        ECHO,
    );
    assert!(matches!(
        h.load(&wasi, &Permission::ALL),
        Err(PluginError::ImportNotGranted { module, .. }) if module == "wasi_snapshot_preview1"
    ));
    // Not WebAssembly, or without the interface.
    assert!(matches!(
        h.load(b"\0asm junk", &[]),
        Err(PluginError::Invalid(_))
    ));
    let bare = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    assert!(matches!(
        h.load(&bare, &[]),
        Err(PluginError::MissingExport(_))
    ));
    let p = h.load(&module("", ECHO), &[]).unwrap();
    assert!(matches!(
        h.call(&p, "no_such_hook", &json!({})),
        Err(PluginError::MissingExport(m)) if m.starts_with("no_such_hook")
    ));
}

#[test]
fn a_trap_is_reported_not_raised() {
    let h = host();
    let p = h
        .load(
            &module(
                "",
                r#"(func (export "hook") (param i32 i32) (result i64) unreachable)"#,
            ),
            &[],
        )
        .unwrap();
    assert!(matches!(
        h.call(&p, "hook", &json!({})),
        Err(PluginError::Trap(_))
    ));
}

#[test]
fn a_second_memory_is_refused_so_the_cap_bounds_the_whole_plugin() {
    let h = host();
    // Each memory under the cap, together far over it: refused when loaded.
    let two = wat::parse_str(
        r#"(module
             (memory (export "memory") 1)
             (memory 150)
             (func (export "alloc") (param i32) (result i32) (i32.const 1024)))"#,
    )
    .unwrap();
    let e = h.load(&two, &[]).err();
    assert!(matches!(e, Some(PluginError::Invalid(_))), "{e:?}");
}

#[test]
fn logging_is_limited_per_call_and_never_fails_the_call() {
    let h = host();
    // Logs 1,000 times, then echoes: the log budget stops the lines, not the plugin.
    let body = format!(
        r#"(func (export "hook") (param i32 i32) (result i64) (local $i i32)
             (loop $l
               (call $log (local.get 0) (local.get 1))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
             {echo})"#,
        echo = "(i64.or (i64.shl (i64.extend_i32_u (local.get 0)) (i64.const 32)) (i64.extend_i32_u (local.get 1)))"
    );
    let p = h
        .load(
            &module(
                r#"(import "storefort" "log" (func $log (param i32 i32)))"#,
                &body,
            ),
            &[],
        )
        .unwrap();
    assert_eq!(
        h.call(&p, "hook", &json!(["a\nb"])).unwrap(),
        json!(["a\nb"])
    );
}
