//! A log writer that masks card numbers and email addresses (see
//! [`storefort_core::redact::redact`]) in every line before it reaches the real output.

use std::io::{self, Write};

use storefort_core::redact::redact;
use tracing_subscriber::fmt::MakeWriter;

/// Wraps a [`MakeWriter`] (such as `std::io::stderr`) so every writer it makes redacts.
#[derive(Debug, Clone)]
pub struct RedactingMakeWriter<M> {
    inner: M,
}

impl<M> RedactingMakeWriter<M> {
    /// Redact whatever `inner` would have written.
    pub fn new(inner: M) -> Self {
        Self { inner }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for RedactingMakeWriter<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer_for(meta))
    }
}

/// Holds bytes until a whole line (or a flush, or the end) arrives, then writes it redacted.
/// Lines are redacted whole so a card number split across two `write` calls is still found.
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    /// Redact what is written to `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }

    /// Write `bytes` (whole lines, or the last piece on flush) redacted.
    fn emit(inner: &mut W, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        inner.write_all(redact(&String::from_utf8_lossy(bytes)).as_bytes())
    }

    /// Write out everything held back, complete line or not.
    fn emit_pending(&mut self) -> io::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        Self::emit(&mut self.inner, &pending)
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(last_newline) = self.pending.iter().rposition(|b| *b == b'\n') {
            let rest = self.pending.split_off(last_newline + 1);
            let lines = std::mem::replace(&mut self.pending, rest);
            Self::emit(&mut self.inner, &lines)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit_pending()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        // Nowhere to report a failure from here; the line is lost rather than written unmasked.
        let _ = self.emit_pending();
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A shared in-memory sink.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_split_across_writes_is_masked_whole() {
        let sink = Sink::default();
        let mut w = RedactingWriter::new(sink.clone());
        w.write_all(b"card 4111 1111 ").unwrap();
        assert_eq!(sink.text(), "", "nothing is written before the line ends");
        w.write_all(b"1111 1111 from a@b.com\nnext ").unwrap();
        assert_eq!(
            sink.text(),
            "card [card number removed] from [email removed]\n"
        );
        w.write_all(b"5555-5555-5555-4444").unwrap();
        w.flush().unwrap();
        assert_eq!(
            sink.text(),
            "card [card number removed] from [email removed]\nnext [card number removed]"
        );
    }

    #[test]
    fn the_rest_is_written_when_the_writer_is_dropped() {
        let sink = Sink::default();
        let mut w = RedactingWriter::new(sink.clone());
        w.write_all(b"ok 12.50 then 378282246310005").unwrap();
        drop(w);
        assert_eq!(sink.text(), "ok 12.50 then [card number removed]");
    }

    #[test]
    fn tracing_output_is_redacted() {
        let sink = Sink::default();
        let for_writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(RedactingMakeWriter::new(move || for_writer.clone()))
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(
                note = "pay by 4111-1111-1111-1111",
                email = "owner@example.com",
                "order note from 4242424242424242"
            );
            tracing::info!(path = "/admin/products", price = "12.50", "kept");
        });
        let out = sink.text();
        assert!(!out.contains("4111"), "{out}");
        assert!(!out.contains("4242"), "{out}");
        assert!(!out.contains("owner@"), "{out}");
        assert_eq!(out.matches("[card number removed]").count(), 2, "{out}");
        assert!(
            out.contains("path=\"/admin/products\" price=\"12.50\""),
            "{out}"
        );
    }
}
