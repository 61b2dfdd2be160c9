//! The zip guard: every zip container (xlsx, xlsm, ods, pptx, docx) is opened through
//! here. It checks what the archive declares (entry count, sizes, ratios) when opening,
//! and then enforces the same limits on the bytes actually produced while decompressing,
//! because a crafted archive can declare small sizes and still expand to gigabytes.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::Path;

use zip::ZipArchive;
use zip::result::ZipError;

use super::{Kind, Limits, Problem, ReadControl, human_bytes};

/// Entries up to this size are exempt from the ratio check: small XML parts full of
/// repeated markup legitimately compress very well, and they cannot hurt.
const RATIO_FLOOR: u64 = 1024 * 1024;

pub(crate) struct Archive {
    zip: ZipArchive<BufReader<File>>,
    kind: Kind,
    limits: Limits,
    /// Bytes decompressed so far from this archive, against `max_total_uncompressed`.
    expanded: u64,
    /// Real decompressed size of each entry, once [`Archive::verify_all`] has measured it.
    measured: Vec<Option<u64>>,
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
        let zip = ZipArchive::new(BufReader::new(File::open(path)?))
            .map_err(|e| Problem::invalid(kind, zip_detail(&e)))?;
        let mut archive = Archive {
            zip,
            kind,
            limits: limits.clone(),
            expanded: 0,
            measured: Vec::new(),
        };
        archive.check_declared()?;
        Ok(archive)
    }

    /// Entry count, and each entry's declared size and ratio, against the limits. Cheap:
    /// reads headers only.
    fn check_declared(&mut self) -> Result<(), Problem> {
        let count = self.zip.len();
        if count > self.limits.max_entries {
            return Err(Problem::Refused(format!(
                "the archive has {count} entries, more than the {} limit",
                self.limits.max_entries
            )));
        }
        let mut total: u64 = 0;
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

    /// Streams entry `i` into `out` through `Read::take`, so at most one byte past the
    /// smallest applicable limit is ever produced, whatever the headers claim.
    fn expand(&mut self, i: usize, out: &mut impl io::Write) -> Result<u64, Problem> {
        let kind = self.kind;
        let limits = &self.limits;
        let mut entry = self
            .zip
            .by_index(i)
            .map_err(|e| Problem::invalid(kind, zip_detail(&e)))?;
        let name = entry_name(&entry);
        if entry.is_dir() {
            return Ok(0);
        }
        let compressed = entry.compressed_size().max(1);
        let by_entry = limits.max_entry_uncompressed;
        let by_total = limits.max_total_uncompressed.saturating_sub(self.expanded);
        let by_ratio = compressed.saturating_mul(limits.max_ratio).max(RATIO_FLOOR);
        let cap = by_entry.min(by_total).min(by_ratio);
        let mut bounded = Controlled::new(
            (&mut entry).take(cap.saturating_add(1)),
            limits.control.clone(),
        );
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
        if copied > cap {
            let why = if cap == by_entry {
                format!("{name} would expand past {}", human_bytes(by_entry))
            } else if cap == by_total {
                format!(
                    "the archive would expand past {} in total",
                    human_bytes(limits.max_total_uncompressed)
                )
            } else {
                format!(
                    "{name} expands more than {}:1 (a zip bomb?)",
                    limits.max_ratio
                )
            };
            return Err(Problem::Refused(why));
        }
        self.expanded = self.expanded.saturating_add(copied);
        Ok(copied)
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
