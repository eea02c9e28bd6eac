//! Everything the front end reads from outside: files, standard input and folders, each read to
//! a named bound ([`sim_core::limits`]) and refused by name past it, and passwords given without
//! the command line (`--password-stdin`, `--password-file`, `ADSYNC_SIM_PASSWORD`).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sim_core::command::Secret;
use sim_core::limits::{
    MAX_ENTRIES_PER_FOLDER, MAX_FOLDER_DEPTH, MAX_PASSWORD_BYTES, MAX_SCENARIO_FILES,
};
use zeroize::Zeroizing;

/// The environment variable a password may come from when no `--password` option gives it.
pub const PASSWORD_ENV: &str = "ADSYNC_SIM_PASSWORD";

/// Reads at most `limit` bytes of `path` (`-` for standard input): more is refused, naming the
/// input, the limit and its constant, so the read is bounded whatever the path names. A device
/// (`/dev/zero`, also through a symlink) or a folder is refused; a pipe (`<(…)`) is read to the
/// bound like a file.
pub fn read_bounded(
    path: &Path,
    limit: u64,
    limit_name: &str,
    what: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    let shown = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut buf)
            .with_context(|| format!("reading {what} from standard input"))?;
        "standard input".to_owned()
    } else {
        let file = std::fs::File::open(path)
            .with_context(|| format!("reading {what} {}", path.display()))?;
        let meta = file
            .metadata()
            .with_context(|| format!("reading {what} {}", path.display()))?;
        if is_device(&meta) || meta.is_dir() {
            bail!(
                "{what} {} is a device or a folder, not a file; give a file",
                path.display()
            );
        }
        file.take(limit + 1)
            .read_to_end(&mut buf)
            .with_context(|| format!("reading {what} {}", path.display()))?;
        path.display().to_string()
    };
    if buf.len() as u64 > limit {
        bail!("{what} {shown} is larger than {limit} bytes ({limit_name}); refusing to read it");
    }
    Ok(buf)
}

/// Whether the opened file is a character or block device.
#[cfg(unix)]
fn is_device(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_char_device() || meta.file_type().is_block_device()
}

/// Devices cannot be told apart from files here; the read is bounded all the same.
#[cfg(not(unix))]
fn is_device(_meta: &std::fs::Metadata) -> bool {
    false
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_text_bounded(path: &Path, limit: u64, limit_name: &str, what: &str) -> Result<String> {
    let bytes = read_bounded(path, limit, limit_name, what)?;
    String::from_utf8(bytes.to_vec())
        .map_err(|e| anyhow::anyhow!("{what} {} is not UTF-8: {e}", path.display()))
}

/// Every `*.toml` under `paths` (files as given, folders recursively), each file once: folders
/// are identified by their canonical path, so a symlink loop (`ln -s . loop`) is entered once
/// and a file reached by two paths runs once. Bounded by [`MAX_SCENARIO_FILES`],
/// [`MAX_ENTRIES_PER_FOLDER`] and [`MAX_FOLDER_DEPTH`]; within a folder, sorted.
pub fn collect_tomls(paths: &[PathBuf], what: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut seen_files = BTreeSet::new();
    let mut seen_dirs = BTreeSet::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            let mut stack = vec![(p.clone(), 0usize)];
            while let Some((d, depth)) = stack.pop() {
                let canon = d
                    .canonicalize()
                    .with_context(|| format!("reading {}", d.display()))?;
                if !seen_dirs.insert(canon) {
                    continue; // a loop, or a folder reached twice
                }
                for (n, e) in std::fs::read_dir(&d)
                    .with_context(|| format!("reading {}", d.display()))?
                    .enumerate()
                {
                    if n >= MAX_ENTRIES_PER_FOLDER {
                        bail!(
                            "{} has more than {MAX_ENTRIES_PER_FOLDER} entries (MAX_ENTRIES_PER_FOLDER); give the {what} folder itself",
                            d.display()
                        );
                    }
                    let path = e?.path();
                    if path.is_dir() {
                        if depth + 1 > MAX_FOLDER_DEPTH {
                            bail!(
                                "{} is more than {MAX_FOLDER_DEPTH} folders deep under {} (MAX_FOLDER_DEPTH)",
                                path.display(),
                                p.display()
                            );
                        }
                        stack.push((path, depth + 1));
                    } else if path.extension().is_some_and(|x| x == "toml") {
                        found.push(path);
                    }
                }
            }
            found.sort();
            for f in found {
                push_once(&mut out, &mut seen_files, f, what)?;
            }
        } else if p.exists() {
            push_once(&mut out, &mut seen_files, p.clone(), what)?;
        } else {
            bail!("{}: no such {what} file or folder", p.display());
        }
    }
    Ok(out)
}

fn push_once(
    out: &mut Vec<PathBuf>,
    seen: &mut BTreeSet<PathBuf>,
    path: PathBuf,
    what: &str,
) -> Result<()> {
    // A dangling link or an unreadable entry is kept: reading it reports the error by name.
    let key = path.canonicalize().unwrap_or_else(|_| path.clone());
    if seen.insert(key) {
        if out.len() >= MAX_SCENARIO_FILES {
            bail!("more than {MAX_SCENARIO_FILES} {what} files (MAX_SCENARIO_FILES)");
        }
        out.push(path);
    }
    Ok(())
}

/// A password from `--password-stdin` (the first line of standard input) or `--password-file
/// FILE` (its first line), bounded by [`MAX_PASSWORD_BYTES`]; the line break is not part of it.
pub fn read_password(stdin: bool, file: Option<&Path>) -> Result<Option<Secret>> {
    let bytes = match (stdin, file) {
        (true, Some(_)) => bail!("give --password-stdin or --password-file, not both"),
        (true, None) => read_bounded(
            Path::new("-"),
            MAX_PASSWORD_BYTES,
            "MAX_PASSWORD_BYTES",
            "the password",
        )?,
        (false, Some(f)) => read_bounded(
            f,
            MAX_PASSWORD_BYTES,
            "MAX_PASSWORD_BYTES",
            "the password file",
        )?,
        (false, None) => return Ok(None),
    };
    let text =
        std::str::from_utf8(&bytes).map_err(|_| anyhow::anyhow!("the password is not UTF-8"))?;
    let line = text
        .split(['\n'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r');
    if line.is_empty() {
        bail!(
            "the password read from {} is empty",
            if stdin { "standard input" } else { "the file" }
        );
    }
    Ok(Some(Secret::new(line)))
}

/// The password of the environment variable [`PASSWORD_ENV`], if set.
pub fn env_password() -> Option<Secret> {
    std::env::var(PASSWORD_ENV)
        .ok()
        .filter(|p| !p.is_empty())
        .map(Secret::new)
}

impl crate::cli::PasswordArgs {
    /// The password the options give: `--password`, `--password-stdin`, `--password-file`, or
    /// else [`PASSWORD_ENV`].
    pub fn resolve(&self) -> Result<Option<Secret>> {
        if let Some(p) = &self.password {
            return Ok(Some(p.clone()));
        }
        if let Some(p) = read_password(self.password_stdin, self.password_file.as_deref())? {
            return Ok(Some(p));
        }
        Ok(env_password())
    }

    /// [`Self::resolve`], required.
    pub fn required(&self) -> Result<Secret> {
        self.resolve()?.ok_or_else(|| {
            anyhow::anyhow!(
                "give the password: --password P, --password-stdin, --password-file FILE, or {PASSWORD_ENV}"
            )
        })
    }
}

/// The words of a world command with `--password-stdin` and `--password-file FILE` replaced by
/// `--password P`, and, for the verbs that take a password (`account reset`, `connector
/// set-password`), `--password` from [`PASSWORD_ENV`] when none is given.
pub fn world_words(words: Vec<String>) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(words.len() + 2);
    let mut given = false;
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        match w.to_ascii_lowercase().as_str() {
            "--password-stdin" => {
                let p = read_password(true, None)?.unwrap_or_else(|| Secret::new(""));
                out.extend(["--password".to_owned(), p.expose().to_owned()]);
                given = true;
            }
            "--password-file" => {
                let f = it.next().context("--password-file needs a FILE")?;
                let p =
                    read_password(false, Some(Path::new(&f)))?.unwrap_or_else(|| Secret::new(""));
                out.extend(["--password".to_owned(), p.expose().to_owned()]);
                given = true;
            }
            "--password" => {
                given = true;
                out.push(w);
            }
            _ => out.push(w),
        }
    }
    let takes = |verb: &str, sub: &str| {
        out.first().is_some_and(|v| v == verb)
            && out.get(1).is_some_and(|s| s.eq_ignore_ascii_case(sub))
    };
    if !given
        && (takes("account", "reset") || takes("connector", "set-password"))
        && let Some(p) = env_password()
    {
        out.extend(["--password".to_owned(), p.expose().to_owned()]);
    }
    Ok(out)
}

/// The secrets of a command line (the process's arguments), longest first: the words the
/// command language's grammar says are passwords ([`sim_core::command::secret_parts`]), after
/// the global options, and those of any argument that is itself a line (`exec 'LINE'`).
pub fn argv_secrets(args: &[String]) -> Vec<String> {
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--state" | "--format" | "--labs" => {
                it.next();
            }
            s if s.starts_with("--state=") || s.starts_with("--format=") => {}
            _ => words.push(a.clone()),
        }
    }
    let mut secrets = sim_core::command::secret_parts(&words);
    for a in args.iter().filter(|a| a.contains(char::is_whitespace)) {
        secrets.extend(sim_core::command::secret_parts(
            &sim_core::command::redact::split_words_lossy(a),
        ));
    }
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();
    secrets
}
