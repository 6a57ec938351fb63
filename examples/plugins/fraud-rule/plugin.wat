;; fraud-rule: 30 fraud points for an order of 500.00 or more (50000 minor units) that ships to
;; a country other than the billing one.
;;
;; Hook fraud_signal (ABI v1, see docs/PLUGINS.md). The input is the host's compact JSON, e.g.
;;   {"billing_country":"GB",...,"order":{"discount_minor":0,"goods_minor":52000,...,
;;    "total_minor":50000},"shipping_country":"FR",...}
;; This module does not parse JSON: it scans for the exact bytes `"total_minor":`,
;; `"billing_country":"` and `"shipping_country":"`. The leading quote makes each an exact key
;; ("goods_minor" and "discount_minor" never match), and a JSON string can never hold an
;; unescaped `"`, so text inside a value cannot pass for a key. It relies on no key order.
;;
;; Output: {"signals":[{"points":30,"reason":"Large order (500.00 or more) shipping to another
;; country."}]} or {"signals":[]}. Without the order (no read_orders) or either country, no points.
(module
  (memory (export "memory") 1)

  ;; Constant text lives below 1024; the bump allocator hands out memory from 1024 up.
  (data (i32.const 0) "\"total_minor\":")         ;; 14 bytes
  (data (i32.const 16) "\"billing_country\":\"")  ;; 19 bytes
  (data (i32.const 48) "\"shipping_country\":\"") ;; 20 bytes
  (data (i32.const 80) "{\"signals\":[]}")        ;; 14 bytes
  (data (i32.const 128)
    "{\"signals\":[{\"points\":30,\"reason\":\"Large order (500.00 or more) shipping to another country.\"}]}") ;; 96

  ;; The next free byte. Never freed: the host makes a fresh instance for every call.
  (global $heap (mut i32) (i32.const 1024))
  ;; What $int_at answers when there is no number (no real amount is this small).
  (global $MISSING i64 (i64.const 0x8000000000000000))

  ;; alloc(len) -> the address of len free bytes. Grows memory when the input needs it; traps
  ;; on a negative length or when memory cannot grow (the host then skips the call).
  (func $alloc (export "alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local $end i32)
    (if (i32.lt_s (local.get $len) (i32.const 0)) (then unreachable))
    (local.set $ptr (global.get $heap))
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
      (then
        ;; Grow by the pages missing: ceil(end / 64 KiB) - current pages.
        (if (i32.eq
              (memory.grow
                (i32.sub (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
                         (memory.size)))
              (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  ;; The address just after the first copy of the needle [$n, $n+$nlen) found in [$at, $end),
  ;; or -1 when there is none.
  (func $find (param $at i32) (param $end i32) (param $n i32) (param $nlen i32) (result i32)
    (local $i i32)
    (block $none
      (loop $next
        (br_if $none (i32.gt_u (i32.add (local.get $at) (local.get $nlen)) (local.get $end)))
        (local.set $i (i32.const 0))
        (block $differs
          (loop $same
            (if (i32.eq (local.get $i) (local.get $nlen))
              (then (return (i32.add (local.get $at) (local.get $nlen)))))
            (br_if $differs
              (i32.ne (i32.load8_u (i32.add (local.get $at) (local.get $i)))
                      (i32.load8_u (i32.add (local.get $n) (local.get $i)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $same)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $next)))
    (i32.const -1))

  ;; The integer written at [$at, $end): an optional '-' then digits; $MISSING when there is no
  ;; digit (e.g. null). Reading stops at the first non-digit, so 12.5 reads as 12.
  (func $int_at (param $at i32) (param $end i32) (result i64)
    (local $neg i32)
    (local $v i64)
    (local $c i32)
    (local $digits i32)
    (if (i32.lt_u (local.get $at) (local.get $end))
      (then
        (if (i32.eq (i32.load8_u (local.get $at)) (i32.const 45)) ;; '-'
          (then
            (local.set $neg (i32.const 1))
            (local.set $at (i32.add (local.get $at) (i32.const 1)))))))
    (block $done
      (loop $digit
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        ;; As unsigned, anything below '0' wraps to a large number: one test covers both ends.
        (local.set $c (i32.sub (i32.load8_u (local.get $at)) (i32.const 48)))
        (br_if $done (i32.gt_u (local.get $c) (i32.const 9)))
        (local.set $v (i64.add (i64.mul (local.get $v) (i64.const 10))
                               (i64.extend_i32_u (local.get $c))))
        (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $digit)))
    (if (i32.eqz (local.get $digits)) (then (return (global.get $MISSING))))
    (if (result i64) (local.get $neg)
      (then (i64.sub (i64.const 0) (local.get $v)))
      (else (local.get $v))))

  ;; 1 when the JSON strings starting at $a and $b (just after their opening quotes) are equal
  ;; byte for byte up to their closing quotes, else 0. Country codes hold no escapes.
  (func $same_str (param $a i32) (param $b i32) (param $end i32) (result i32)
    (local $c i32)
    (loop $next
      (if (i32.ge_u (local.get $a) (local.get $end)) (then (return (i32.const 0))))
      (if (i32.ge_u (local.get $b) (local.get $end)) (then (return (i32.const 0))))
      (local.set $c (i32.load8_u (local.get $a)))
      (if (i32.ne (local.get $c) (i32.load8_u (local.get $b))) (then (return (i32.const 0))))
      (if (i32.eq (local.get $c) (i32.const 34)) (then (return (i32.const 1)))) ;; '"'
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $next))
    (i32.const 0))

  ;; (address << 32) | length: how a hook returns its output.
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))

  (func (export "fraud_signal_v1") (param $ptr i32) (param $len i32) (result i64)
    (local $end i32)
    (local $at i32)
    (local $billing i32)
    (local $shipping i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    ;; order.total_minor: 50000 or more, else no points (a missing order reads as $MISSING).
    (local.set $at (call $find (local.get $ptr) (local.get $end) (i32.const 0) (i32.const 14)))
    (if (i32.eq (local.get $at) (i32.const -1))
      (then (return (call $pack (i32.const 80) (i32.const 14)))))
    (if (i64.lt_s (call $int_at (local.get $at) (local.get $end)) (i64.const 50000))
      (then (return (call $pack (i32.const 80) (i32.const 14)))))
    ;; Both countries must be there, and differ.
    (local.set $billing
      (call $find (local.get $ptr) (local.get $end) (i32.const 16) (i32.const 19)))
    (local.set $shipping
      (call $find (local.get $ptr) (local.get $end) (i32.const 48) (i32.const 20)))
    (if (i32.or (i32.eq (local.get $billing) (i32.const -1))
                (i32.eq (local.get $shipping) (i32.const -1)))
      (then (return (call $pack (i32.const 80) (i32.const 14)))))
    (if (call $same_str (local.get $billing) (local.get $shipping) (local.get $end))
      (then (return (call $pack (i32.const 80) (i32.const 14)))))
    (call $pack (i32.const 128) (i32.const 96)))
)
