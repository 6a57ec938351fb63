;; order-webhook: asks the shop to POST each new order's number and total to the webhook_url
;; the owner approved (the plugin cannot choose the address).
;;
;; Hook order_created (ABI v1, see docs/PLUGINS.md). The input is the host's compact JSON, e.g.
;;   {"channel":"web",...,"order":{...,"total_minor":2400},"order_number":1042,...}
;; This module does not parse JSON: it scans for the exact bytes `"order_number":` and
;; `"total_minor":`. The leading quote makes each an exact key, and a JSON string can never
;; hold an unescaped `"`, so text inside a value cannot pass for a key. No key order is assumed.
;;
;; Output: {"notify":{"event":"order.created","order_number":N,"total_minor":T}}, or
;; {"notify":null} (send nothing) when either number is missing, e.g. without read_orders.
(module
  (memory (export "memory") 1)

  ;; Constant text lives below 1024; the bump allocator hands out memory from 1024 up.
  (data (i32.const 0) "\"order_number\":")   ;; 15 bytes
  (data (i32.const 16) "\"total_minor\":")   ;; 14 bytes
  (data (i32.const 32) "{\"notify\":null}")  ;; 15 bytes
  (data (i32.const 64) "{\"notify\":{\"event\":\"order.created\",\"order_number\":") ;; 50 bytes
  (data (i32.const 128) ",\"total_minor\":")  ;; 15 bytes
  (data (i32.const 144) "}}")                ;; 2 bytes

  ;; The next free byte. Never freed: the host makes a fresh instance for every call.
  (global $heap (mut i32) (i32.const 1024))
  ;; What $int_at answers when there is no number (no real number or amount is this small).
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

  ;; Copies [$src, $src+$len) to $dst; returns the address after the copy.
  (func $put (param $dst i32) (param $src i32) (param $len i32) (result i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $len))
    (i32.add (local.get $dst) (local.get $len)))

  ;; Writes $v (zero or more) in decimal at $dst; returns the address after the last digit.
  (func $write_int (param $dst i32) (param $v i64) (result i32)
    (local $n i32)
    (local $t i64)
    (local $end i32)
    ;; Count the digits first so they can be written from the last one backwards.
    (local.set $t (local.get $v))
    (loop $count
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (local.set $t (i64.div_u (local.get $t) (i64.const 10)))
      (br_if $count (i64.ne (local.get $t) (i64.const 0))))
    (local.set $end (i32.add (local.get $dst) (local.get $n)))
    (loop $digit
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (i32.store8 (i32.add (local.get $dst) (local.get $n))
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digit (i32.ne (local.get $n) (i32.const 0))))
    (local.get $end))

  ;; (address << 32) | length: how a hook returns its output.
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))

  ;; The integer after the key [$key, $key+$klen) in [$ptr, $end), or $MISSING.
  (func $int_of (param $ptr i32) (param $end i32) (param $key i32) (param $klen i32) (result i64)
    (local $at i32)
    (local.set $at (call $find (local.get $ptr) (local.get $end) (local.get $key) (local.get $klen)))
    (if (i32.eq (local.get $at) (i32.const -1)) (then (return (global.get $MISSING))))
    (call $int_at (local.get $at) (local.get $end)))

  (func (export "order_created_v1") (param $ptr i32) (param $len i32) (result i64)
    (local $end i32)
    (local $number i64)
    (local $total i64)
    (local $out i32)
    (local $w i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (local.set $number (call $int_of (local.get $ptr) (local.get $end) (i32.const 0) (i32.const 15)))
    (local.set $total (call $int_of (local.get $ptr) (local.get $end) (i32.const 16) (i32.const 14)))
    ;; Negative numbers (the missing marker included) are never real: send nothing.
    (if (i32.or (i64.lt_s (local.get $number) (i64.const 0))
                (i64.lt_s (local.get $total) (i64.const 0)))
      (then (return (call $pack (i32.const 32) (i32.const 15)))))
    ;; 50 + 15 + 2 bytes of text and at most 2 x 19 digits.
    (local.set $out (call $alloc (i32.const 128)))
    (local.set $w (call $put (local.get $out) (i32.const 64) (i32.const 50)))
    (local.set $w (call $write_int (local.get $w) (local.get $number)))
    (local.set $w (call $put (local.get $w) (i32.const 128) (i32.const 15)))
    (local.set $w (call $write_int (local.get $w) (local.get $total)))
    (local.set $w (call $put (local.get $w) (i32.const 144) (i32.const 2)))
    (call $pack (local.get $out) (i32.sub (local.get $w) (local.get $out))))
)
