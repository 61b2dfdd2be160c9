//! The zip guard: every zip container (xlsx, xlsm, ods, pptx, docx) is opened through
//! here. It checks what the archive declares (entry count, sizes, ratios) when opening,
//! and then enforces the same limits on the bytes actually produced while decompressing,
//! because a crafted archive can declare small sizes and still expand to gigabytes.
//!
//! An archive embedded in another (a workbook inside a deck) is opened with
//! [`Archive::nested`] and spends the same budget as the one holding it: entries,
//! declared sizes and decompressed bytes are counted for the outer file and everything
//! in it together, so nesting a bomb cannot multiply what one file may cost.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use zip::ZipArchive;
use zip::result::ZipError;

use super::{Kind, Limits, Problem, ReadControl, human_bytes};

/// Entries up to this size are exempt from the ratio check: small XML parts full of
/// repeated markup legitimately compress very well, and they cannot hurt.
const RATIO_FLOOR: u64 = 1024 * 1024;

/// The bytes of an embedded package, shared by its archive and calamine without a copy.
#[derive(Clone)]
pub(crate) struct Held(Arc<Vec<u8>>);

impl Held {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Held(Arc::new(bytes))
    }
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// What an archive reads from: the file, or an embedded package held in memory.
trait Source: Read + Seek {}

impl<T: Read + Seek> Source for T {}

/// What one file has spent, shared by its archive and every archive nested in it.
#[derive(Default)]
struct Spent {
    /// Entries of all the archives opened, against `max_entries`.
    entries: Cell<usize>,
    /// Their declared sizes together, against `max_total_uncompressed`.
    declared: Cell<u64>,
    /// Bytes decompressed so far, against `max_total_uncompressed`.
    expanded: Cell<u64>,
}

pub(crate) struct Archive {
    zip: ZipArchive<Box<dyn Source>>,
    kind: Kind,
    limits: Limits,
    spent: Rc<Spent>,
    /// Real decompressed size of each entry, once [`Archive::verify_all`] has measured it.
    measured: Vec<Option<u64>>,
}

/// Which bound caps how far an entry may expand.
enum Cap {
    Entry,
    Total,
    Ratio,
}

impl Archive {
    /// Opens `path` as a zip archive of the given kind and checks what it declares.
    pub(crate) fn open(path: &Path, kind: Kind, limits: &Limits) -> Result<Self, Problem> {
        let mut file = File::open(path)?;
        let mut magic = [0u8; 4];
        let got = read_up_to(&mut file, &mut magic)?;
        if got < 4 || &magic[..2] != b"PK" {
            let detail = if got >= 4 && magic == [0xD0, 0xCF, 0x11, 0xE0] {
                // An OLE compound file: a legacy .xls/.doc/.ppt renamed, or an
                // encrypted (password-protected) OOXML file, which Office wraps in OLE.
                "the file is an OLE compound file: password-protected, or a legacy format renamed"
            } else {
                "the file is not a zip archive"
            };
            return Err(Problem::invalid(kind, detail));
        }
        drop(file);
        let source: Box<dyn Source> = Box::new(BufReader::new(File::open(path)?));
        Self::over(source, kind, limits.clone(), Rc::default())
    }

    /// Opens an archive held in memory (a package embedded in this one) as `kind`. It
    /// spends this archive's budget: what it declares and decompresses is counted with
    /// everything read from this file so far.
    pub(crate) fn nested(&self, bytes: Held, kind: Kind) -> Result<Archive, Problem> {
        if bytes.as_ref().get(..2) != Some(&b"PK"[..]) {
            return Err(Problem::invalid(kind, "it is not a zip archive"));
        }
        let source: Box<dyn Source> = Box::new(Cursor::new(bytes));
        Self::over(source, kind, self.limits.clone(), Rc::clone(&self.spent))
    }

    fn over(
        source: Box<dyn Source>,
        kind: Kind,
        limits: Limits,
        spent: Rc<Spent>,
    ) -> Result<Self, Problem> {
        let zip = ZipArchive::new(source).map_err(|e| Problem::invalid(kind, zip_detail(&e)))?;
        let mut archive = Archive {
            zip,
            kind,
            limits,
            spent,
            measured: Vec::new(),
        };
        archive.check_declared()?;
        Ok(archive)
    }

    /// The same archive read as another kind (an embedded package found to be a
    /// workbook), for the words of its errors.
    pub(crate) fn with_kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    /// Entry count, and each entry's declared size and ratio, against the limits. Cheap:
    /// reads headers only.
    fn check_declared(&mut self) -> Result<(), Problem> {
        let count = self.zip.len();
        let before = self.spent.entries.get();
        let entries = before.saturating_add(count);
        if entries > self.limits.max_entries {
            return Err(Problem::Refused(if before == 0 {
                format!(
                    "the archive has {count} entries, more than the {} limit",
                    self.limits.max_entries
                )
            } else {
                format!(
                    "the archives in the file have {entries} entries together, more than the {} limit",
                    self.limits.max_entries
                )
            }));
        }
        self.spent.entries.set(entries);
        let mut total: u64 = self.spent.declared.get();
        for i in 0..count {
            let entry = self
                .zip
                .by_index_raw(i)
                .map_err(|e| Problem::invalid(self.kind, zip_detail(&e)))?;
            let name = entry_name(&entry);
            let size = entry.size();
            if size > self.limits.max_entry_uncompressed {
                return Err(Problem::Refused(format!(
                    "{name} would expand past {}",
                    human_bytes(self.limits.max_entry_uncompressed)
                )));
            }
            let compressed = entry.compressed_size().max(1);
            if size > RATIO_FLOOR && size / compressed > self.limits.max_ratio {
                return Err(Problem::Refused(format!(
                    "{name} declares a compression ratio of {}:1, above the {}:1 limit (a zip bomb?)",
                    size / compressed,
                    self.limits.max_ratio
                )));
            }
            total = total.saturating_add(size);
            if total > self.limits.max_total_uncompressed {
                return Err(Problem::Refused(format!(
                    "the archive would expand past {} in total",
                    human_bytes(self.limits.max_total_uncompressed)
                )));
            }
        }
        self.spent.declared.set(total);
        Ok(())
    }

    /// The index of a part, matched exactly first and then ignoring ASCII case (OPC part
    /// names are case-insensitive) and a leading `/`.
    fn index_of(&self, name: &str) -> Option<usize> {
        let name = name.trim_start_matches('/');
        self.zip.index_for_name(name).or_else(|| {
            self.zip
                .file_names()
                .position(|n| n.is_ok_and(|n| n.eq_ignore_ascii_case(name)))
        })
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.index_of(name).is_some()
    }

    /// Names of all entries (those the zip crate can decode).
    pub(crate) fn names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .filter_map(|n| n.ok().map(|n| n.into_owned()))
            .collect()
    }

    /// Decompresses one part into memory, within the limits; `None` when it is absent.
    pub(crate) fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, Problem> {
        let Some(i) = self.index_of(name) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        self.expand(i, &mut out)?;
        Ok(Some(out))
    }

    /// Decompresses every entry into nothing, to prove the whole archive stays within the
    /// limits before it goes to a reader (calamine) that trusts it.
    pub(crate) fn verify_all(&mut self) -> Result<(), Problem> {
        self.measured = vec![None; self.zip.len()];
        for i in 0..self.zip.len() {
            let size = self.expand(i, &mut io::sink())?;
            if let Some(slot) = self.measured.get_mut(i) {
                *slot = Some(size);
            }
        }
        Ok(())
    }

    /// Names of entries whose name ends with `suffix` (ASCII case-insensitive).
    pub(crate) fn names_ending(&self, suffix: &str) -> Vec<String> {
        let suffix = suffix.to_ascii_lowercase();
        self.names()
            .into_iter()
            .filter(|n| n.to_ascii_lowercase().ends_with(&suffix))
            .collect()
    }

    /// The real size of an entry as measured by [`Archive::verify_all`].
    pub(crate) fn measured_size(&self, name: &str) -> Option<u64> {
        let i = self.index_of(name)?;
        self.measured.get(i).copied().flatten()
    }

    /// The first `max` bytes of an entry (fewer when it is shorter).
    pub(crate) fn read_prefix(&mut self, name: &str, max: u64) -> Result<Option<Vec<u8>>, Problem> {
        let Some(i) = self.index_of(name) else {
            return Ok(None);
        };
        let kind = self.kind;
        let mut entry = self
            .zip
            .by_index(i)
            .map_err(|e| Problem::invalid(kind, zip_detail(&e)))?;
        let mut out = Vec::new();
        // A read error past the prefix we need is not this caller's concern: keep what
        // was read (verify_all has already judged the whole entry).
        let _ = (&mut entry).take(max).read_to_end(&mut out);
        Ok(Some(out))
    }

    /// Streams one part through `f`, without holding it in memory; `None` when it is
    /// absent. For parts [`Archive::verify_all`] has already measured: the bytes are
    /// bounded again here all the same (a part is never longer than the entry limit),
    /// and the read's control is checked as they come.
    pub(crate) fn stream<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut dyn BufRead) -> Result<T, Problem>,
    ) -> Result<Option<T>, Problem> {
        let Some(i) = self.index_of(name) else {
            return Ok(None);
        };
        let kind = self.kind;
        let cap = self.limits.max_entry_uncompressed;
        let control = self.limits.control.clone();
        let entry = self
            .zip
            .by_index(i)
            .map_err(|e| Problem::invalid(kind, zip_detail(&e)))?;
        let mut reader =
            BufReader::with_capacity(64 * 1024, Controlled::new(entry.take(cap), control));
        f(&mut reader).map(Some)
    }

    /// How far entry `i` may expand (one byte past it is how a bomb is told apart), and
    /// which bound says so.
    fn cap(&mut self, i: usize) -> Result<(u64, Cap), Problem> {
        let kind = self.kind;
        let compressed = self
            .zip
            .by_index_raw(i)
            .map_err(|e| Problem::invalid(kind, zip_detail(&e)))?
            .compressed_size()
            .max(1);
        let limits = &self.limits;
        let by_entry = limits.max_entry_uncompressed;
        let by_total = limits
            .max_total_uncompressed
            .saturating_sub(self.spent.expanded.get());
        let by_ratio = compressed.saturating_mul(limits.max_ratio).max(RATIO_FLOOR);
        Ok(if by_entry <= by_total && by_entry <= by_ratio {
            (by_entry, Cap::Entry)
        } else if by_total <= by_ratio {
            (by_total, Cap::Total)
        } else {
            (by_ratio, Cap::Ratio)
        })
    }

    /// Why an entry that went past its cap is refused.
    fn past(&self, name: &str, cap: &Cap) -> Problem {
        let limits = &self.limits;
        Problem::Refused(match cap {
            Cap::Entry => format!(
                "{name} would expand past {}",
                human_bytes(limits.max_entry_uncompressed)
            ),
            Cap::Total => format!(
                "the archive would expand past {} in total",
                human_bytes(limits.max_total_uncompressed)
            ),
            Cap::Ratio => format!(
                "{name} expands more than {}:1 (a zip bomb?)",
                limits.max_ratio
            ),
        })
    }

    /// Streams one part through `f` like [`Archive::stream`], for parts nothing has
    /// measured yet: its bytes are bounded and counted as [`Archive::read`] counts them,
    /// without holding the part in memory.
    pub(crate) fn stream_counted<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut dyn BufRead) -> Result<T, Problem>,
    ) -> Result<Option<T>, Problem> {
        let Some(i) = self.index_of(name) else {
            return Ok(None);
        };
        let (cap, why) = self.cap(i)?;
        let kind = self.kind;
        let control = self.limits.control.clone();
        let entry = self
            .zip
            .by_index(i)
            .map_err(|e| Problem::invalid(kind, zip_detail(&e)))?;
        let counted = Counted {
            inner: entry.take(cap.saturating_add(1)),
            read: 0,
        };
        let mut reader = BufReader::with_capacity(64 * 1024, Controlled::new(counted, control));
        let result = f(&mut reader);
        let copied = reader.get_ref().inner.read;
        drop(reader);
        if copied > cap {
            return Err(self.past(name, &why));
        }
        self.spent
            .expanded
            .set(self.spent.expanded.get().saturating_add(copied));
        result.map(Some)
    }

    /// Streams entry `i` into `out` through `Read::take`, so at most one byte past the
    /// smallest applicable limit is ever produced, whatever the headers claim.
    fn expand(&mut self, i: usize, out: &mut impl io::Write) -> Result<u64, Problem> {
        let kind = self.kind;
        let (cap, why) = self.cap(i)?;
        let control = self.limits.control.clone();
        let mut entry = self
            .zip
            .by_index(i)
            .map_err(|e| Problem::invalid(kind, zip_detail(&e)))?;
        let name = entry_name(&entry);
        if entry.is_dir() {
            return Ok(0);
        }
        let mut bounded = Controlled::new((&mut entry).take(cap.saturating_add(1)), control);
        let copied = io::copy(&mut bounded, out).map_err(|e| {
            if let Some(p) = stop_reason(&e) {
                return p;
            }
            // The zip crate stops an entry that grows past its declared size: that is a
            // header lying, i.e. a bomb, not mere damage.
            if e.to_string().contains("larger than its declared") {
                Problem::Refused(format!(
                    "{name} expands past its declared size (a zip bomb?)"
                ))
            } else {
                Problem::invalid(kind, format!("zip entry {name} is damaged: {e}"))
            }
        })?;
        drop(bounded);
        drop(entry);
        if copied > cap {
            return Err(self.past(&name, &why));
        }
        self.spent
            .expanded
            .set(self.spent.expanded.get().saturating_add(copied));
        Ok(copied)
    }
}

/// A reader that counts the bytes it passes on.
struct Counted<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        Ok(n)
    }
}

/// A reader that checks the read's [`ReadControl`] before every read, so work fed by it
/// (decompression here, calamine's parsing of the file) stops soon after the control
/// says so. The error it returns carries the [`Problem`]; [`stop_reason`] gets it back.
pub(crate) struct Controlled<R> {
    inner: R,
    control: ReadControl,
}

impl<R> Controlled<R> {
    pub(crate) fn new(inner: R, control: ReadControl) -> Self {
        Controlled { inner, control }
    }
}

impl<R: Read> Read for Controlled<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.control.check().map_err(io::Error::other)?;
        self.inner.read(buf)
    }
}

impl<R: Seek> Seek for Controlled<R> {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.control.check().map_err(io::Error::other)?;
        self.inner.seek(pos)
    }
}

/// Why a [`Controlled`] reader stopped, when that is what this I/O error is.
pub(crate) fn stop_reason(e: &io::Error) -> Option<Problem> {
    match e.get_ref()?.downcast_ref::<Problem>()? {
        Problem::Cancelled => Some(Problem::Cancelled),
        Problem::TimedOut { seconds } => Some(Problem::TimedOut { seconds: *seconds }),
        _ => None,
    }
}

fn entry_name<R: Read>(entry: &zip::read::ZipFile<'_, R>) -> String {
    entry
        .name()
        .map(|n| n.into_owned())
        .unwrap_or_else(|_| String::from_utf8_lossy(entry.name_raw()).into_owned())
}

/// Words for a zip error, for "not a valid pptx (...)".
fn zip_detail(e: &ZipError) -> String {
    match e {
        ZipError::Io(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            "zip archive is truncated".to_string()
        }
        ZipError::Io(io) => format!("zip archive cannot be read: {io}"),
        ZipError::InvalidArchive(msg) => {
            format!("zip archive is truncated or damaged: {msg}")
        }
        ZipError::UnsupportedArchive(msg) => format!("unsupported zip archive: {msg}"),
        ZipError::CompressionMethodNotSupported(m) => {
            format!("zip entry uses unsupported compression method {m}")
        }
        ZipError::InvalidPassword => "zip archive is encrypted".to_string(),
        other => format!("zip archive cannot be read: {other}"),
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
