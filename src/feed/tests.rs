//! The feed on one host: what a driver publishes, a follower reads, and who
//! watches.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::presence::{PRESENCE_STALE, presence_dir};
use super::*;
use crate::clock::Clock;
use crate::rollout::{At, Effect, Rollout};
use crate::rollout::{Event, Input};

fn rollout() -> Rollout {
    let config = crate::config::parse(Path::new("t.toml"), crate::config::MINIMAL).unwrap();
    Rollout::new(config, 1_000)
}

fn note(feed: &mut Feed, at: At, text: &str) {
    feed.effect(&Effect::Journal {
        at,
        event: Event::Note {
            by: crate::rollout::Actor::Operator("ana".into()),
            text: text.into(),
        },
    });
}

#[test]
fn a_follower_reads_back_what_the_driver_published_and_each_log_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("checkout-2-0-x.jsonl");
    let mut r = rollout();
    r.update(
        2_000,
        Input::Start {
            local: chrono::NaiveDateTime::default(),
            operator: "ana@box".into(),
        },
    );
    let clock = Clock::new(1.0);
    let mut feed = Feed::new(&journal, "nobody@box", true);
    note(&mut feed, 2_000, "first");
    feed.publish(&r, &clock, None).unwrap();
    let mut follower = Follower::open(&path_for(&journal)).unwrap();
    assert_eq!(follower.live.driver, "ana@box", "who started it drives");
    assert!(follower.live.ssh);
    assert_eq!(follower.rollout.state, r.state);
    assert_eq!(follower.rollout.tracks.len(), r.tracks.len());
    let texts = |lines: Vec<LogLine>| lines.into_iter().map(|l| l.text).collect::<Vec<_>>();
    assert_eq!(texts(follower.new_lines()), ["note by ana: first"]);
    assert!(follower.new_lines().is_empty());

    // Within a quarter second nothing new is written, but the end always is.
    note(&mut feed, 3_000, "second");
    feed.publish(&r, &clock, None).unwrap();
    assert!(!follower.poll());
    feed.publish(&r, &clock, Some("the driver quit".into()))
        .unwrap();
    assert!(follower.poll());
    assert_eq!(follower.live.ended.as_deref(), Some("the driver quit"));
    assert_eq!(texts(follower.new_lines()), ["note by ana: second"]);
}

#[test]
fn a_feed_that_goes_bad_keeps_the_last_good_one_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("checkout-2-0-x.jsonl");
    let mut feed = Feed::new(&journal, "ana@box", false);
    feed.publish(&rollout(), &Clock::new(1.0), None).unwrap();
    let mut follower = Follower::open(&path_for(&journal)).unwrap();
    std::fs::write(path_for(&journal), "{\"v\": 1, \"driv").unwrap();
    assert!(!follower.poll());
    let trouble = follower.trouble.clone().unwrap();
    assert!(trouble.contains("is not a cockpit live feed"), "{trouble}");
    assert_eq!(follower.live.driver, "ana@box");
}

#[test]
fn the_clock_runs_on_between_writes_but_not_for_a_silent_driver() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("checkout-2-0-x.jsonl");
    Feed::new(&journal, "ana@box", false)
        .publish(&rollout(), &Clock::new(1.0), None)
        .unwrap();
    let mut live = read(&path_for(&journal)).unwrap();
    live.written = 100_000;
    live.now = 50_000;
    live.speed = 10.0;
    assert_eq!(follow_now(&live, 100_300), (53_000, None));
    let (now, silent) = follow_now(&live, 112_000);
    assert_eq!(now, 50_000 + SILENT_AFTER_MS * 10, "frozen once silent");
    assert_eq!(silent, Some(12_000));
    live.ended = Some("the rollout ended: promoted".into());
    assert_eq!(
        follow_now(&live, 112_000),
        (50_000, None),
        "an ended feed is not silent"
    );
}

#[test]
fn watch_finds_the_newest_running_feed_before_one_that_ended() {
    let dir = tempfile::tempdir().unwrap();
    let r = rollout();
    let clock = Clock::new(1.0);
    let publish = |name: &str, ended: Option<&str>| {
        let mut feed = Feed::new(&dir.path().join(name), "ana@box", false);
        feed.publish(&r, &clock, ended.map(str::to_string)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    };
    publish("checkout-2-0-a.jsonl", None);
    publish("payments-b.jsonl", None);
    publish("checkout-2-0-c.jsonl", Some("the rollout ended: promoted"));
    let name = |p: Option<PathBuf>| {
        p.unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    assert_eq!(name(newest(dir.path(), None)), "payments-b.live.json");
    assert_eq!(
        name(newest(dir.path(), Some("checkout 2.0"))),
        "checkout-2-0-a.live.json"
    );
    assert!(newest(dir.path(), Some("search")).is_none());
    assert!(newest(&dir.path().join("none"), None).is_none());
}

#[test]
fn followers_files_are_shared_as_the_journal_dir_is() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mode = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o7777;
    for (dir_mode, want_dir, want_file) in [
        (0o700, 0o700, 0o600),
        (0o750, 0o750, 0o640),
        (0o2770, 0o2770, 0o660),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(dir_mode)).unwrap();
        let journal = dir.path().join("checkout-2-0-x.jsonl");
        let presence = Presence::announce(&journal, "bob@box").unwrap();
        assert_eq!(mode(&presence_dir(&journal)), want_dir);
        assert_eq!(mode(&presence.path), want_file);
        Feed::new(&journal, "ana@box", false)
            .publish(&rollout(), &Clock::new(1.0), None)
            .unwrap();
        assert_eq!(mode(&path_for(&journal)), want_file);
    }
}

#[test]
fn the_driver_sees_who_follows_until_they_leave() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("checkout-2-0-x.jsonl");
    let mut feed = Feed::new(&journal, "ana@box", false);
    let bob = Presence::announce(&journal, "bob@box").unwrap();
    // Another follower's process, on another host.
    std::fs::write(presence_dir(&journal).join("ops-2-4242"), "carol@ops-2\n").unwrap();
    assert_eq!(watchers(&journal), ["bob@box", "carol@ops-2"]);
    feed.publish(&rollout(), &Clock::new(1.0), None).unwrap();
    assert_eq!(feed.watchers, ["bob@box", "carol@ops-2"]);
    assert_eq!(read(&path_for(&journal)).unwrap().watchers, feed.watchers);
    drop(bob);
    assert_eq!(watchers(&journal), ["carol@ops-2"], "bob left");

    // Carol's cockpit was killed: her file stays but stops being
    // refreshed, and once stale she is no longer counted.
    let carol = std::fs::File::options()
        .write(true)
        .open(presence_dir(&journal).join("ops-2-4242"))
        .unwrap();
    let then = std::time::SystemTime::now() - PRESENCE_STALE - Duration::from_secs(1);
    carol.set_modified(then).unwrap();
    assert!(watchers(&journal).is_empty());
}

mod stream {
    use super::*;
    use crate::feed::ssh::Remote;
    use crate::feed::wire::{
        BEAT_EVERY_MS, Line, Receiver, SNAPSHOT_EVERY_MS, Sender, apply, diff,
    };
    use serde_json::json;

    #[test]
    fn a_patch_turns_the_old_value_into_the_new_one() {
        let old = json!({
            "history": [[1, 0.5], [2, 0.6], [3, 0.7]],
            "tracks": [{"v": 1, "s": "ok"}, {"v": 2, "s": "ok"}],
            "reading": {"Value": {"v": 1}},
            "$odd": {"a": 1},
            "ended": null,
            "same": "x",
        });
        let new = json!({
            "history": [[2, 0.6], [3, 0.7], [4, 0.8]],
            "tracks": [{"v": 1, "s": "ok"}, {"v": 3, "s": "breach"}],
            "reading": {"Missing": "no data"},
            "$odd": {"a": 2},
            "ended": "promoted",
            "same": "x",
        });
        let patch = diff(&old, &new).unwrap();
        assert_eq!(patch["history"], json!({"$drop": 1, "$add": [[4, 0.8]]}));
        assert!(patch.get("same").is_none(), "unchanged keys are not sent");
        let mut rebuilt = old.clone();
        apply(&mut rebuilt, &patch).unwrap();
        assert_eq!(rebuilt, new);
        assert!(diff(&new, &new).is_none());
    }

    fn live() -> Live {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("checkout-2-0-x.jsonl");
        let mut feed = Feed::new(&journal, "ana@box", false);
        feed.publish(&rollout(), &Clock::new(1.0), None).unwrap();
        read(&path_for(&journal)).unwrap()
    }

    fn send(sender: &mut Sender, receiver: &mut Receiver, live: &Live, wall: u64) -> Option<usize> {
        let line = serde_json::to_string(&sender.next(live, wall)?).unwrap();
        receiver.take(&line, wall + 60_000).unwrap();
        Some(line.len())
    }

    #[test]
    fn a_follower_rebuilds_the_feed_from_one_snapshot_and_small_patches() {
        let (mut sender, mut receiver) = (Sender::default(), Receiver::default());
        let mut live = live();
        let whole = send(&mut sender, &mut receiver, &live, 1_000).unwrap();
        live.serial += 1;
        live.written += 1_000;
        live.now += 1_000;
        live.log.push(LogLine {
            at: live.now,
            level: Severity::Warn,
            text: "a breach".into(),
        });
        live.logged += 1;
        let patch = send(&mut sender, &mut receiver, &live, 2_000).unwrap();
        assert!(
            patch * 10 < whole,
            "a patch of {patch} bytes, a snapshot of {whole}"
        );
        let got = receiver.live.clone().unwrap();
        assert_eq!(got.log, live.log);
        assert_eq!(
            got.written,
            live.written + 60_000,
            "carried to the follower's clock"
        );

        // Another write within the second waits for the next look, unless
        // the stage moved.
        live.serial += 1;
        assert!(sender.next(&live, 2_400).is_none());
        live.state.stage += 1;
        assert!(matches!(
            sender.next(&live, 2_500),
            Some(Line::Patch { .. })
        ));

        // Nothing new: a heartbeat only every two seconds, a snapshot every 30.
        assert_eq!(sender.next(&live, 3_000).map(|_| ()), None);
        let beat = sender.next(&live, 2_500 + BEAT_EVERY_MS).unwrap();
        assert!(matches!(beat, Line::Beat { .. }));
        live.serial += 1;
        let later = sender.next(&live, 1_000 + SNAPSHOT_EVERY_MS).unwrap();
        assert!(matches!(later, Line::Snapshot { .. }));
    }

    #[test]
    fn a_patch_without_a_snapshot_is_refused() {
        let mut receiver = Receiver::default();
        let err = receiver
            .take(r#"{"patch":{"wall":1,"patch":{}}}"#, 1)
            .unwrap_err();
        assert!(err.contains("before any snapshot"), "{err}");
        assert!(receiver.take("hello", 1).is_err());
    }

    #[test]
    fn ssh_addresses_name_user_host_port_and_rollout() {
        let parsed = |t: &str| Remote::parse(t).unwrap();
        assert_eq!(
            parsed("ssh://bob@bastion:2222/checkout 2.0").unwrap(),
            Remote {
                user: Some("bob".into()),
                host: "bastion".into(),
                port: Some(2222),
                rollout: Some("checkout 2.0".into()),
            }
        );
        let plain = parsed("ssh://bastion").unwrap();
        assert_eq!((plain.user, plain.port, plain.rollout), (None, None, None));
        assert_eq!(parsed("ssh://[::1]:22/").unwrap().host, "::1");
        assert!(parsed("ssh://-oProxyCommand=x").is_err());
        assert!(parsed("ssh://host:port").is_err());
        assert!(Remote::parse("checkout").is_none());
    }
}
