//! Files the simulator writes: private to their owner and never written through a symbolic link.
//!
//! The state directory holds what Windows protects in the SAM and the SECURITY hive (password
//! hashes, LSA secrets, the DPAPI keys) and exports write DPAPI_SYSTEM and master keys, so on Unix
//! directories are made 0700 and files 0600, as Windows' ACLs keep `%SystemRoot%\System32\config`
//! and the `Protect` folders to SYSTEM and their owner. Every new file is created exclusively
//! (`O_CREAT|O_EXCL|O_NOFOLLOW`): a name that already exists, a symbolic link included, is an
//! error, never a file overwritten or a link followed. [`Tree`] writes a directory tree below one
//! opened root with `mkdirat`/`openat` relative to handles it opened itself, refusing a symbolic
//! link at any level, so a link planted inside the root while it is written cannot redirect a
//! write outside it.
//!
//! On Windows the same calls create the files with the directory's inherited ACL (see
//! SECURITY.md: the state directory belongs under the user's profile, whose ACL admits only the
//! user, SYSTEM and Administrators).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

/// The mode of directories the simulator creates (owner only).
pub const DIR_MODE: u32 = 0o700;
/// The mode of files the simulator creates (owner read and write).
pub const FILE_MODE: u32 = 0o600;

/// Creates a new directory, readable by its owner only; it must not exist.
pub fn create_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(DIR_MODE).create(path)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir(path)
    }
}

/// Creates `path` and its parents as needed and makes `path` itself private (0700 on Unix).
pub fn ensure_private_dir(path: &Path) -> io::Result<()> {
    std::fs::create_dir_all(path)?;
    restrict(path, DIR_MODE)
}

/// Sets `path`'s mode on Unix (a no-op elsewhere, where the inherited ACL applies).
pub fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Creates a new private file (0600): an existing name, a symbolic link included, is an error.
pub fn create_new(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(FILE_MODE)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    o.open(path)
}

/// Writes a new private file with `bytes` and flushes it to the disk.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = create_new(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Writes `bytes` to `path`, replacing what is there: a new private file is written beside it
/// (created exclusively under a random name) and renamed over it, so the result is always 0600,
/// a symbolic link at `path` is replaced rather than followed, and a reader never sees half a
/// file.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        hex::encode(random)
    ));
    write_new(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Opens (creating when missing) a private file that is never a symbolic link: the lock file.
pub fn open_or_create(path: &Path) -> io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(FILE_MODE)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    o.open(path)
}

/// Flushes a directory's entries (the renames and creations in it) to the disk. A no-op where
/// directories cannot be opened as files (Windows, where `MoveFileEx` is durable on return).
pub fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(path)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Whether `path` exists as a name (a dangling symbolic link counts).
pub fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// The normal components of a relative path; `..`, roots and prefixes are refused.
fn components(rel: &str) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("'{rel}' is not a path inside the export"),
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an empty path inside the export",
        ));
    }
    Ok(out)
}

/// A directory tree written below one root that was opened once.
#[derive(Debug)]
pub struct Tree {
    root: PathBuf,
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
}

impl Tree {
    /// Opens `root`, an existing directory (a symbolic link the user named as the root itself
    /// is followed, as every tool follows the path it is given).
    pub fn open(root: &Path) -> io::Result<Self> {
        #[cfg(unix)]
        {
            use rustix::fs::{Mode, OFlags};
            let fd = rustix::fs::open(
                root,
                OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            Ok(Self {
                root: root.to_owned(),
                fd,
            })
        }
        #[cfg(not(unix))]
        {
            if !root.is_dir() {
                return Err(io::Error::new(io::ErrorKind::NotFound, "not a directory"));
            }
            Ok(Self {
                root: root.to_owned(),
            })
        }
    }

    /// Writes `bytes` to the new file `rel` below the root, creating its directories (0700) as
    /// needed; a symbolic link at any level, or an existing file, is an error naming the path.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> io::Result<()> {
        let parts = components(rel)?;
        let named =
            |e: io::Error| io::Error::new(e.kind(), format!("{}/{rel}: {e}", self.root.display()));
        self.write_parts(&parts, bytes).map_err(named)
    }

    #[cfg(unix)]
    fn write_parts(&self, parts: &[String], bytes: &[u8]) -> io::Result<()> {
        use rustix::fs::{Mode, OFlags};
        let (file, dirs) = parts.split_last().ok_or(io::ErrorKind::InvalidInput)?;
        let mut owned: Option<std::os::fd::OwnedFd> = None;
        for d in dirs {
            let at = owned.as_ref().unwrap_or(&self.fd);
            match rustix::fs::mkdirat(at, d.as_str(), Mode::from_raw_mode(DIR_MODE)) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(e.into()),
            }
            // O_NOFOLLOW: a symbolic link here (planted after the directory was made or found)
            // fails with ELOOP instead of leading elsewhere.
            let next = rustix::fs::openat(
                at,
                d.as_str(),
                OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            owned = Some(next);
        }
        let at = owned.as_ref().unwrap_or(&self.fd);
        let fd = rustix::fs::openat(
            at,
            file.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(FILE_MODE),
        )?;
        let mut f = File::from(fd);
        f.write_all(bytes)?;
        f.sync_all()
    }

    #[cfg(not(unix))]
    fn write_parts(&self, parts: &[String], bytes: &[u8]) -> io::Result<()> {
        let (file, dirs) = parts.split_last().ok_or(io::ErrorKind::InvalidInput)?;
        let mut path = self.root.clone();
        for d in dirs {
            path.push(d);
            match std::fs::create_dir(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if path.symlink_metadata()?.file_type().is_symlink() {
                        return Err(io::Error::other("a symbolic link"));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        path.push(file);
        write_new(&path, bytes)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        p.metadata().unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_files_are_private_and_never_follow_a_link() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_new(&link, b"secret").is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        let f = t.path().join("f");
        write_new(&f, b"x").unwrap();
        assert_eq!(mode(&f), 0o600);
        assert!(
            write_new(&f, b"y").is_err(),
            "an existing file is not overwritten"
        );
    }

    #[test]
    fn replace_writes_a_private_file_over_a_link_without_following_it() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        let out = t.path().join("out");
        std::os::unix::fs::symlink(&target, &out).unwrap();
        replace(&out, b"new").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(!out.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(mode(&out), 0o600);
        replace(&out, b"again").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"again");
        assert_eq!(
            std::fs::read_dir(t.path()).unwrap().count(),
            2,
            "no temporary file left"
        );
    }

    #[test]
    fn a_tree_refuses_links_at_every_level_and_escapes() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let root = t.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let tree = Tree::open(&root).unwrap();
        tree.write("a/b/c.bin", b"1").unwrap();
        assert_eq!(mode(&root.join("a")), 0o700);
        assert_eq!(mode(&root.join("a/b/c.bin")), 0o600);
        std::os::unix::fs::symlink(&outside, root.join("w")).unwrap();
        let e = tree.write("w/x.bin", b"2").unwrap_err();
        assert!(e.to_string().contains("w/x.bin"), "{e}");
        std::os::unix::fs::symlink(outside.join("f"), root.join("a/f")).unwrap();
        assert!(tree.write("a/f", b"3").is_err());
        assert!(tree.write("../escape", b"4").is_err());
        assert_eq!(
            std::fs::read_dir(&outside).unwrap().count(),
            0,
            "nothing left the root"
        );
    }
}
