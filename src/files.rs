//! The files the cockpit reads and writes, in places other users may reach:
//! only regular files are read, and never more than a stated limit (a FIFO
//! would block, `/dev/zero` would fill memory); files are created
//! exclusively and never through a link planted where they go; directories
//! get their mode set explicitly, whatever the umask.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The most a config, theme or scenario file may weigh: far above any
/// real one, far below what hurts.
pub const TEXT_LIMIT: u64 = 4 << 20;

/// Whether a symbolic link at the path itself is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// A path the user named (a config, a theme): a link is theirs.
    Follow,
    /// A file inside a journal dir: a link there was planted.
    Refuse,
}

/// Who may read, or also write, what the cockpit keeps in a journal dir.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Dirs 0700, files 0600.
    Owner,
    /// Dirs 0750, files 0640, owned by this group (`[journal] group`): its
    /// members may follow.
    Group(u32),
    /// Dirs 02770, files 0660, owned by this group (`group_may = "drive"`):
    /// its members may also note, take the wheel and drive. Setgid, so what
    /// any member creates keeps the group; not sticky, so one member may
    /// replace, reopen or remove another's file (a lock, a feed, a note):
    /// in a sticky dir Linux's `fs.protected_regular` refuses opening
    /// another's file with `O_CREAT`, which is how a lock is taken.
    Team(u32),
}

impl Sharing {
    pub fn dir_mode(self) -> u32 {
        match self {
            Sharing::Owner => 0o700,
            Sharing::Group(_) => 0o750,
            Sharing::Team(_) => 0o2770,
        }
    }

    pub fn file_mode(self) -> u32 {
        match self {
            Sharing::Owner => 0o600,
            Sharing::Group(_) => 0o640,
            Sharing::Team(_) => 0o660,
        }
    }

    fn gid(self) -> Option<u32> {
        match self {
            Sharing::Owner => None,
            Sharing::Group(gid) | Sharing::Team(gid) => Some(gid),
        }
    }

    /// What a journal dir prepared by `prepare_dir` says: the files in it
    /// (journals, feeds, followers' files) are shared as it is. Only the
    /// shapes `prepare_dir` gives a group count (its group may read, or
    /// exactly 02770; others nothing); any other dir keeps them owner-only.
    pub fn of_dir(dir: &Path) -> Sharing {
        match std::fs::metadata(dir) {
            Ok(m) if m.mode() & 0o7777 == 0o2770 => Sharing::Team(m.gid()),
            Ok(m) if m.mode() & 0o057 == 0o050 => Sharing::Group(m.gid()),
            _ => Sharing::Owner,
        }
    }

    /// The mode and group, set on the open file: the umask has no say.
    pub fn apply(self, file: &File, mode: u32) -> io::Result<()> {
        if let Some(gid) = self.gid() {
            std::os::unix::fs::fchown(file, None, Some(gid))?;
        }
        file.set_permissions(Permissions::from_mode(mode))
    }
}

/// `[journal] group` by name, as the system knows it.
pub fn group_id(name: &str) -> Option<u32> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: every pointer is valid for the call (see `group_entry`).
    let entry = group_entry(|group, buf, found| unsafe {
        libc::getgrnam_r(name.as_ptr(), group, buf.as_mut_ptr(), buf.len(), found)
    });
    entry.map(|(gid, _)| gid)
}

/// A group's name, for what a user is told; its number when the system
/// has no name for it.
pub fn group_name(gid: u32) -> String {
    // SAFETY: every pointer is valid for the call (see `group_entry`).
    let entry = group_entry(|group, buf, found| unsafe {
        libc::getgrgid_r(gid, group, buf.as_mut_ptr(), buf.len(), found)
    });
    entry.map_or_else(|| gid.to_string(), |(_, name)| name)
}

/// One `getgr*_r` lookup, its buffer grown until the entry fits.
fn group_entry(
    lookup: impl Fn(&mut libc::group, &mut [libc::c_char], &mut *mut libc::group) -> libc::c_int,
) -> Option<(u32, String)> {
    let mut size = 4096;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: a plain C struct the lookup fills in; read only while
        // `buf`, which its strings point into, lives.
        let mut group: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        let rc = lookup(&mut group, &mut buf, &mut found);
        if rc == libc::ERANGE && size < 1 << 20 {
            size *= 4;
            continue;
        }
        if rc != 0 || found.is_null() || group.gr_name.is_null() {
            return None;
        }
        // SAFETY: a found entry's name is a C string inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(group.gr_name) };
        return Some((group.gr_gid, name.to_string_lossy().into_owned()));
    }
}

fn refused(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

/// A symbolic link met with `O_NOFOLLOW` is ELOOP: say what it means.
fn explain(e: io::Error, links: Links) -> io::Error {
    if links == Links::Refuse && e.raw_os_error() == Some(libc::ELOOP) {
        refused("it is a symbolic link, and the cockpit does not follow links here".into())
    } else {
        e
    }
}

/// Only a regular file is read or written: not a FIFO, a device, a dir.
fn regular(file: File) -> io::Result<File> {
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    use std::os::unix::fs::FileTypeExt;
    let what = if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "something else"
    };
    Err(refused(format!("not a regular file ({what})")))
}

/// Opens a regular file for reading. Never blocks on a FIFO: the open is
/// non-blocking, and the file is refused once seen.
pub fn open_regular(path: &Path, links: Links) -> io::Result<File> {
    let mut flags = libc::O_NONBLOCK;
    if links == Links::Refuse {
        flags |= libc::O_NOFOLLOW;
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|e| explain(e, links))?;
    regular(file)
}

/// A regular file's bytes, refused past `limit`.
pub fn read_capped(path: &Path, limit: u64, links: Links) -> io::Result<Vec<u8>> {
    let file = open_regular(path, links)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(refused(format!(
            "larger than {}, the most the cockpit reads from such a file",
            size(limit)
        )));
    }
    Ok(bytes)
}

/// A config, theme or scenario: a regular file of UTF-8 up to `TEXT_LIMIT`.
pub fn read_text(path: &Path) -> io::Result<String> {
    let bytes = read_capped(path, TEXT_LIMIT, Links::Follow)?;
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// `4 MiB`, `512 KiB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Creates `path`, which must not exist yet (not even as a dangling link),
/// with `sharing`'s mode and group.
pub fn create_new(path: &Path, sharing: Sharing, append: bool) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .append(append)
        .create_new(true)
        .mode(sharing.file_mode())
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    sharing.apply(&file, sharing.file_mode())?;
    Ok(file)
}

/// Opens a file of the cockpit's own to read and append to it (a journal
/// carried on): refused when a link or not a regular file.
pub fn open_append(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| explain(e, Links::Refuse))?;
    regular(file)
}

/// Opens `path` to read and write it, creating it with `sharing`'s mode if
/// it is missing (a lock file); refused when a link or not a regular file.
/// A file of ours gets `sharing`'s mode and group whatever the umask; one
/// another member of a team left is used as it is.
pub fn open_or_create(path: &Path, sharing: Sharing) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(sharing.file_mode())
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| explain(e, Links::Refuse))?;
    let file = regular(file)?;
    let meta = file.metadata()?;
    let shaped = meta.mode() & 0o7777 == sharing.file_mode()
        && sharing.gid().is_none_or(|gid| gid == meta.gid());
    // SAFETY: geteuid has no preconditions.
    if meta.uid() == unsafe { libc::geteuid() } && !shaped {
        sharing.apply(&file, sharing.file_mode())?;
    }
    Ok(file)
}

/// Replaces `path` whole through `<path>.tmp`, so a reader sees the old
/// file or the new one, never half. A link planted at either name is
/// replaced, never written through.
pub fn replace(path: &Path, bytes: &[u8], sharing: Sharing) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    // Left by a crash, or planted: unlinking removes the name, never what a
    // link points at.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = create_new(&tmp, sharing, false)?;
    file.write_all(bytes)?;
    drop(file);
    std::fs::rename(&tmp, path)
}

/// Makes `dir` ready to hold journals, feeds or followers' files: created
/// with `sharing`'s mode and group whatever the umask, or, if it exists and
/// is ours, set to them. A dir other users may write to is refused (anyone
/// could plant a link or a FIFO in it), but for a team's: exactly 02770 and
/// owned by the group `sharing` names, whose members are trusted to write.
/// `links`: whether `dir` itself may be a link (a dir the user named) or
/// is one inside a journal dir, made only if its parent is there.
pub fn prepare_dir(dir: &Path, sharing: Sharing, links: Links) -> io::Result<()> {
    if make_dir(dir, sharing, links)? {
        return set_dir(dir, sharing);
    }
    let existing = match links {
        Links::Follow => std::fs::metadata(dir)?,
        Links::Refuse => std::fs::symlink_metadata(dir)?,
    };
    if existing.file_type().is_symlink() {
        return Err(explain(io::Error::from_raw_os_error(libc::ELOOP), links));
    }
    if !existing.is_dir() {
        return Err(refused("not a directory".into()));
    }
    if ours_to_set(dir, &existing, sharing)? {
        set_dir(dir, sharing)?;
    }
    Ok(())
}

/// Creates `dir` with `sharing`'s mode; false when it is there already
/// (another member of a team may have made it a moment ago).
fn make_dir(dir: &Path, sharing: Sharing, links: Links) -> io::Result<bool> {
    let there = match links {
        Links::Follow => std::fs::metadata(dir),
        Links::Refuse => std::fs::symlink_metadata(dir),
    };
    match there {
        Ok(_) => return Ok(false),
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
    if let (Links::Follow, Some(parent)) = (links, parent) {
        // Parents only need to be passed through, never written by a group.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(sharing.dir_mode() & 0o750)
            .create(parent)?;
    }
    match std::fs::DirBuilder::new()
        .mode(sharing.dir_mode() & 0o777)
        .create(dir)
    {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether an existing dir may be used, and whether it is ours to set to
/// `sharing`'s mode and group; refused, with what to do, when not.
fn ours_to_set(dir: &Path, existing: &std::fs::Metadata, sharing: Sharing) -> io::Result<bool> {
    let mode = existing.mode() & 0o7777;
    // SAFETY: geteuid has no preconditions.
    let mine = existing.uid() == unsafe { libc::geteuid() };
    let team = match sharing {
        Sharing::Team(gid) => Some(gid),
        _ => None,
    };
    let trusted = team == Some(existing.gid());
    if mode & 0o002 != 0 || (mode & 0o020 != 0 && !trusted) {
        return Err(refused(format!(
            "other users may write to it (mode {mode:o}, group {}), so anyone could plant a link \
             or a FIFO in it: {}",
            group_name(existing.gid()),
            what_to_do(dir, existing, sharing)
        )));
    }
    if let Some(gid) = team
        && !mine
        && (mode != sharing.dir_mode() || !trusted)
    {
        return Err(refused(format!(
            "group {} may not drive in it (mode {mode:o}, group {}; a team's is 2770, group {0}), \
             and it is not yours to change: {}",
            group_name(gid),
            group_name(existing.gid()),
            what_to_do(dir, existing, sharing)
        )));
    }
    let gid_wanted = sharing.gid().unwrap_or(existing.gid());
    Ok(mine && (mode != sharing.dir_mode() || existing.gid() != gid_wanted))
}

/// The command that makes a refused dir usable, said to whoever met it.
fn what_to_do(dir: &Path, existing: &std::fs::Metadata, sharing: Sharing) -> String {
    let dir = dir.display();
    match sharing {
        Sharing::Team(gid) => format!(
            "its owner can run `chgrp {} {dir} && chmod 2770 {dir}`, or use a directory of your \
             own",
            group_name(gid)
        ),
        _ if existing.mode() & 0o7777 == 0o2770 => format!(
            "it looks like a team's journal dir: to let group {} drive in it, set `group = \"{0}\"` \
             and `group_may = \"drive\"` under [journal]; else `chmod go-w {dir}`",
            group_name(existing.gid())
        ),
        _ => format!("use a directory of your own, or `chmod go-w {dir}`"),
    }
}

fn set_dir(dir: &Path, sharing: Sharing) -> io::Result<()> {
    if let Some(gid) = sharing.gid() {
        std::os::unix::fs::chown(dir, None, Some(gid)).map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM) => refused(format!(
                "cannot give it to group {}: you are not a member (see `id`; a new member logs \
                 in again)",
                group_name(gid)
            )),
            _ => e,
        })?;
    }
    std::fs::set_permissions(dir, Permissions::from_mode(sharing.dir_mode()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_a_device_and_a_link_are_refused_at_once_and_a_big_file_past_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x.jsonl");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_capped(&fifo, 10, Links::Follow).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file (a FIFO)");
        let err = read_text(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file (a device)");

        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; 11]).unwrap();
        let err = read_capped(&big, 10, Links::Follow).unwrap_err();
        assert!(err.to_string().starts_with("larger than 10 bytes"), "{err}");
        assert_eq!(read_capped(&big, 11, Links::Follow).unwrap().len(), 11);

        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&big, &link).unwrap();
        assert_eq!(read_capped(&link, 11, Links::Follow).unwrap().len(), 11);
        let err = read_capped(&link, 11, Links::Refuse).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(open_append(&link).is_err());
        assert!(open_or_create(&link, Sharing::Owner).is_err());
        assert_eq!(size(TEXT_LIMIT), "4 MiB");
    }

    #[test]
    fn a_planted_link_is_replaced_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let feed = dir.path().join("j.live.json");
        std::os::unix::fs::symlink(&victim, dir.path().join("j.live.json.tmp")).unwrap();
        replace(&feed, b"feed", Sharing::Owner).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read_to_string(&feed).unwrap(), "feed");
        let mode = std::fs::metadata(&feed).unwrap().mode();
        assert_eq!(mode & 0o777, 0o600);

        let journal = dir.path().join("j.jsonl");
        std::os::unix::fs::symlink(&victim, &journal).unwrap();
        assert!(create_new(&journal, Sharing::Owner, true).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn a_journal_dir_is_private_whatever_the_umask_and_a_shared_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("a/journal");
        // SAFETY: umask only changes this process's creation mask.
        let old = unsafe { libc::umask(0) };
        let made = prepare_dir(&journal, Sharing::Owner, Links::Follow);
        unsafe { libc::umask(old) };
        made.unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&journal), 0o700);

        std::fs::set_permissions(&journal, Permissions::from_mode(0o755)).unwrap();
        prepare_dir(&journal, Sharing::Owner, Links::Follow).unwrap();
        assert_eq!(mode(&journal), 0o700, "an existing dir of ours is narrowed");

        std::fs::set_permissions(&journal, Permissions::from_mode(0o1777)).unwrap();
        let err = prepare_dir(&journal, Sharing::Owner, Links::Follow).unwrap_err();
        assert!(
            err.to_string().contains("other users may write to it"),
            "{err}"
        );

        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let err = prepare_dir(&file, Sharing::Owner, Links::Follow).unwrap_err();
        assert_eq!(err.to_string(), "not a directory");
    }
    #[test]
    fn a_team_dir_is_setgid_and_group_writable_and_only_that_shape_is_trusted() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: getegid has no preconditions.
        let team = Sharing::Team(unsafe { libc::getegid() });
        let journal = dir.path().join("journal");
        // SAFETY: umask only changes this process's creation mask.
        let old = unsafe { libc::umask(0o077) };
        let made = prepare_dir(&journal, team, Links::Follow);
        let file = made.and_then(|()| create_new(&journal.join("j.jsonl"), team, true));
        let lock = file.and_then(|_| open_or_create(&journal.join("j.lock"), team));
        unsafe { libc::umask(old) };
        lock.unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
        assert_eq!(mode(&journal), 0o2770);
        assert_eq!(Sharing::of_dir(&journal), team);
        assert_eq!(mode(&journal.join("j.jsonl")), 0o660);
        assert_eq!(
            mode(&journal.join("j.lock")),
            0o660,
            "the next driver takes it"
        );
        prepare_dir(&journal, team, Links::Follow).unwrap();

        // A follower's area in a team's dir is never a link planted there.
        let watchers = journal.join("j.watchers");
        std::os::unix::fs::symlink(dir.path(), &watchers).unwrap();
        let err = prepare_dir(&watchers, team, Links::Refuse).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        std::fs::remove_file(&watchers).unwrap();
        prepare_dir(&watchers, team, Links::Refuse).unwrap();
        assert_eq!(mode(&watchers), 0o2770);

        // Without `group_may = "drive"` the same dir is one others write to.
        let group = Sharing::Group(unsafe { libc::getegid() });
        let err = prepare_dir(&journal, group, Links::Follow).unwrap_err();
        assert!(err.to_string().contains("group_may = \"drive\""), "{err}");
        std::fs::set_permissions(&journal, Permissions::from_mode(0o2777)).unwrap();
        let err = prepare_dir(&journal, team, Links::Follow).unwrap_err();
        assert!(err.to_string().contains("other users may write"), "{err}");
    }
}
